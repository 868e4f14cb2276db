package io.newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code newsflow_autocomplete}: index-time analyzer for title autocomplete. Each lowercased,
 * ASCII-folded word is indexed as its prefixes of 1 to {@value #MAX_GRAM} characters
 * ("Elect" → e, el, ele, elec, elect), so a plain match query on a typed prefix finds the title.
 * Query with {@code newsflow_autocomplete_search} so the typed text is not itself split into prefixes.
 */
@NamedComponent("newsflow_autocomplete")
public final class AutocompleteAnalyzerFactory implements AnalyzerFactory {
    static final int MIN_GRAM = 1;
    static final int MAX_GRAM = 20;

    @Override
    public Analyzer create() {
        // preserveOriginal: words longer than MAX_GRAM are also kept whole, so they still match exactly.
        return new ChainAnalyzer(
            source -> new EdgeNGramTokenFilter(ChainAnalyzer.lowerFold(source), MIN_GRAM, MAX_GRAM, true),
            ChainAnalyzer::lowerFold
        );
    }
}
