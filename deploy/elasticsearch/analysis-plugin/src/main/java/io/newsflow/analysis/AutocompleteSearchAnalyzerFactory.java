package io.newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code newsflow_autocomplete_search}: search-time counterpart of {@code newsflow_autocomplete}.
 * The same tokenizer, lowercasing and folding but no n-grams, so the typed prefix "elec" is one
 * term that matches the indexed prefix "elec" (and not "e", which would match nearly every title).
 */
@NamedComponent("newsflow_autocomplete_search")
public final class AutocompleteSearchAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new ChainAnalyzer(ChainAnalyzer::lowerFold, ChainAnalyzer::lowerFold);
    }
}
