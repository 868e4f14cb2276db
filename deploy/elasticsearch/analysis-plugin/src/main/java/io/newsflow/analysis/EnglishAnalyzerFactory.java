package io.newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * {@code newsflow_english}: possessive removal, lowercase, ASCII folding, English stop words and
 * the Porter stemmer.
 *
 * <p>Porter rather than a minimal (plural-only) stemmer, so that inflections beyond the plural
 * meet: "sanction", "sanctions", "sanctioned" all index as "sanction", and "election"/"elections"
 * as "elect". This matches Elasticsearch's built-in {@code english} analyzer plus folding.
 */
@NamedComponent("newsflow_english")
public final class EnglishAnalyzerFactory implements AnalyzerFactory {
    @Override
    public Analyzer create() {
        return new ChainAnalyzer(
            source -> new PorterStemFilter(
                new StopFilter(ChainAnalyzer.lowerFold(new EnglishPossessiveFilter(source)), EnglishAnalyzer.ENGLISH_STOP_WORDS_SET)
            ),
            ChainAnalyzer::lowerFold
        );
    }
}
