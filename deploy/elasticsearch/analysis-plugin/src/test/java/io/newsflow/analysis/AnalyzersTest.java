package io.newsflow.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;
import org.junit.jupiter.api.Test;

/** The token chains produce the terms the Newsflow mapping relies on. */
class AnalyzersTest {

    private static List<String> terms(AnalyzerFactory factory, String text) throws IOException {
        List<String> out = new ArrayList<>();
        try (Analyzer analyzer = factory.create(); TokenStream ts = analyzer.tokenStream("f", text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) {
                out.add(term.toString());
            }
            ts.end();
        }
        return out;
    }

    @Test
    void englishStemsInflectionsTogether() throws IOException {
        var english = new EnglishAnalyzerFactory();
        assertEquals(List.of("sanction", "sanction", "sanction"), terms(english, "sanction sanctions sanctioned"));
        assertEquals(List.of("elect", "elect"), terms(english, "Elections election"));
        assertEquals(List.of("uber", "ceo", "cafe"), terms(english, "Über's CEO and the café"));
    }

    @Test
    void russianStemsCasesTogetherAndFoldsYo() throws IOException {
        var russian = new RussianAnalyzerFactory();
        List<String> stems = terms(russian, "санкции санкций санкциями");
        assertEquals(3, stems.size());
        assertEquals(1, stems.stream().distinct().count(), stems.toString());
        assertEquals(terms(russian, "ещё Ёлка"), terms(russian, "еще елка"));
    }

    @Test
    void foldingOnlyLowercasesAndFolds() throws IOException {
        assertEquals(List.of("uber", "the", "elections"), terms(new FoldingAnalyzerFactory(), "Über the Elections"));
    }

    @Test
    void autocompleteIndexesPrefixesAndSearchDoesNot() throws IOException {
        assertEquals(List.of("e", "el", "ele", "elec", "elect"), terms(new AutocompleteAnalyzerFactory(), "Elect"));
        assertEquals(List.of("uber", "elec"), terms(new AutocompleteSearchAnalyzerFactory(), "Über Elec"));
        String longWord = "counterrevolutionaries"; // 22 letters, longer than MAX_GRAM
        List<String> grams = terms(new AutocompleteAnalyzerFactory(), longWord);
        assertEquals(longWord.substring(0, 20), grams.get(19));
        assertEquals(longWord, grams.get(grams.size() - 1));
    }

    @Test
    void normalizationFoldsButDoesNotStem() {
        try (Analyzer english = new EnglishAnalyzerFactory().create(); Analyzer russian = new RussianAnalyzerFactory().create()) {
            assertEquals("sanctions", english.normalize("f", "Sanctions").utf8ToString());
            assertEquals("uber", english.normalize("f", "Über").utf8ToString());
            assertEquals("елка", russian.normalize("f", "Ёлка").utf8ToString());
        }
    }
}
