// Progressive enhancement; every page reads fine without it.
// 1. Relative times ("9 minutes ago") stay current: same thresholds as the server (web/timefmt.py).
// 2. Article lists with data-stream get new articles from /v1/stream at the top (and lose retracted
//    ones), each announced to screen readers. Nodes are built with textContent only, never innerHTML:
//    article fields are untrusted text.
// 3. Form fields say what is missing in words written for people (data-missing).
(function () {
  "use strict";
  var JUST_NOW_S = 45, RELATIVE_DAYS = 7, MAX_ITEMS = 100;
  var formats = {};

  function lang(el) {
    return el.dataset.lang === "ru" ? "ru" : "en";
  }

  function relative(date, language, now) {
    var seconds = (now - date) / 1000;
    if (seconds < JUST_NOW_S) return language === "ru" ? "только что" : "just now";
    var rtf = formats[language] || (formats[language] = new Intl.RelativeTimeFormat(language, { numeric: "auto" }));
    var minutes = Math.max(1, Math.round(seconds / 60));
    if (minutes < 60) return rtf.format(-minutes, "minute");
    var hours = Math.round(seconds / 3600);
    if (hours < 24) return rtf.format(-hours, "hour");
    var days = Math.round(seconds / 86400);
    if (days <= 1) return rtf.format(-1, "day");
    if (days < RELATIVE_DAYS) return rtf.format(-days, "day");
    return null; // an absolute date: the server's text stays
  }

  function refresh() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll("time[datetime]"), function (el) {
      var date = Date.parse(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      var text = relative(date, lang(el), now);
      if (text !== null && el.textContent !== text) el.textContent = text;
    });
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (region) region.textContent = text;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function item(article, level) {
    var li = document.createElement("li");
    li.className = "article new";
    li.dataset.id = article.id;
    if (typeof article.language === "string" && /^[a-z]{2,3}$/.test(article.language)) li.lang = article.language;
    var heading = document.createElement("h" + level);
    heading.className = "title";
    heading.dir = "auto";
    heading.appendChild(link("/articles/" + encodeURIComponent(article.id), String(article.title || "")));
    li.appendChild(heading);
    var meta = document.createElement("p");
    meta.className = "meta";
    if (typeof article.source_id === "string" && article.source_id) {
      var source = link("/sources/" + encodeURIComponent(article.source_id), "");
      var bdi = document.createElement("bdi");
      bdi.textContent = String(article.source_name || article.source_id);
      source.appendChild(bdi);
      meta.appendChild(source);
      meta.appendChild(document.createTextNode(" · "));
    }
    var time = document.createElement("time");
    time.dataset.lang = li.lang === "ru" ? "ru" : "en";
    time.textContent = time.dataset.lang === "ru" ? "только что" : "just now";
    if (typeof article.published_at === "string") time.setAttribute("datetime", article.published_at);
    meta.appendChild(time);
    li.appendChild(meta);
    if (typeof article.summary === "string" && article.summary) {
      var summary = document.createElement("p");
      summary.className = "summary";
      summary.dir = "auto";
      summary.textContent = article.summary.length > 300 ? article.summary.slice(0, 299) + "…" : article.summary;
      li.appendChild(summary);
    }
    if (Array.isArray(article.tags) && article.tags.length) {
      var tags = document.createElement("ul");
      tags.className = "tags";
      tags.setAttribute("aria-label", "Tags");
      article.tags.forEach(function (tag) {
        if (typeof tag !== "string" || !tag) return;
        var tagItem = document.createElement("li");
        var a = link("/tags/" + encodeURIComponent(tag), "#" + tag);
        a.dir = "auto";
        tagItem.appendChild(a);
        tags.appendChild(tagItem);
      });
      li.appendChild(tags);
    }
    return li;
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  function live(list) {
    if (!window.EventSource) return;
    var level = list.dataset.level === "3" ? 3 : 2;
    var find = function (id) {
      return Array.prototype.filter.call(list.children, function (li) { return li.dataset.id === id; })[0];
    };
    var stream = new EventSource(list.dataset.stream);
    stream.addEventListener("open", function () { list.dataset.live = "connected"; });
    stream.addEventListener("error", function () { list.dataset.live = "reconnecting"; });
    stream.addEventListener("article.published", function (event) {
      var article = parse(event);
      if (!article || typeof article.id !== "string" || find(article.id)) return;
      list.insertBefore(item(article, level), list.firstChild);
      while (list.children.length > MAX_ITEMS) list.removeChild(list.lastChild);
      var empty = document.querySelector("p.empty");
      if (empty) empty.remove();
      announce("New article: " + String(article.title || ""));
    });
    stream.addEventListener("article.retracted", function (event) {
      var article = parse(event);
      var li = article && typeof article.id === "string" ? find(article.id) : null;
      if (!li) return;
      var heading = li.querySelector(".title");
      list.removeChild(li);
      announce("Article withdrawn: " + (heading ? heading.textContent : ""));
    });
  }

  function humaneForms() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-missing]"), function (field) {
      field.addEventListener("invalid", function () {
        if (field.validity.valueMissing) field.setCustomValidity(field.dataset.missing);
      });
      field.addEventListener("input", function () { field.setCustomValidity(""); });
    });
  }

  function start() {
    refresh();
    window.setInterval(refresh, 15000);
    var list = document.querySelector("ol.articles[data-stream]");
    if (list) live(list);
    humaneForms();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
