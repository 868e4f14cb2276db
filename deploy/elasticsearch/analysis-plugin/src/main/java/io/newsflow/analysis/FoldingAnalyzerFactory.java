package io.newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code newsflow_folding}: lowercase and ASCII folding only, for articles whose language is
 * unknown or unsupported; no stop words or stemming that could be wrong for the language.
 */
@NamedComponent("newsflow_folding")
public final class FoldingAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new ChainAnalyzer(ChainAnalyzer::lowerFold, ChainAnalyzer::lowerFold);
    }
}
