// Progressive enhancement of article lists: new articles from /v1/stream appear at the top.
// Builds nodes with textContent only (never innerHTML): article fields are untrusted text.
(function () {
  "use strict";
  var MAX_ITEMS = 100;
  var list = document.querySelector("ol.articles[data-stream]");
  if (!list || !window.EventSource) return;

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function item(article) {
    var li = document.createElement("li");
    li.className = "article new";
    li.dataset.id = article.id;
    var h2 = document.createElement("h2");
    h2.className = "title";
    h2.appendChild(link("/articles/" + encodeURIComponent(article.id), String(article.title || "")));
    li.appendChild(h2);
    var meta = document.createElement("p");
    meta.className = "meta";
    if (typeof article.source_id === "string" && article.source_id) {
      meta.appendChild(link("/sources/" + encodeURIComponent(article.source_id),
        String(article.source_name || article.source_id)));
      meta.appendChild(document.createTextNode(" · "));
    }
    var time = document.createElement("time");
    time.textContent = "just now";
    if (typeof article.published_at === "string") time.dateTime = article.published_at;
    meta.appendChild(time);
    li.appendChild(meta);
    if (typeof article.summary === "string" && article.summary) {
      var summary = document.createElement("p");
      summary.className = "summary";
      summary.textContent = article.summary.length > 300 ? article.summary.slice(0, 297) + "..." : article.summary;
      li.appendChild(summary);
    }
    return li;
  }

  function known(id) {
    return Array.prototype.some.call(list.children, function (li) { return li.dataset.id === id; });
  }

  var source = new EventSource(list.dataset.stream);
  source.addEventListener("article.published", function (event) {
    var article;
    try { article = JSON.parse(event.data); } catch (e) { return; }
    if (!article || typeof article.id !== "string" || known(article.id)) return;
    list.insertBefore(item(article), list.firstChild);
    while (list.children.length > MAX_ITEMS) list.removeChild(list.lastChild);
  });
  source.addEventListener("article.retracted", function (event) {
    var article;
    try { article = JSON.parse(event.data); } catch (e) { return; }
    Array.prototype.forEach.call(list.children, function (li) {
      if (article && li.dataset.id === article.id) list.removeChild(li);
    });
  });
})();
