package io.newsflow.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;
import org.tartarus.snowball.ext.RussianStemmer;

/**
 * {@code newsflow_russian}: ё→е folding, lowercase, Russian stop words and the Russian Snowball
 * stemmer, so that "санкции", "санкций", "санкциями" share the stem "санкц".
 *
 * <p>ё is mapped to е before tokenizing because Russian text writes the two interchangeably
 * ("ещё"/"еще"); doing it first also lets the stop-word list, which uses е, catch both spellings.
 */
@NamedComponent("newsflow_russian")
public final class RussianAnalyzerFactory implements AnalyzerFactory {
    private static final NormalizeCharMap YO_TO_YE;

    static {
        NormalizeCharMap.Builder map = new NormalizeCharMap.Builder();
        map.add("ё", "е");
        map.add("Ё", "Е");
        YO_TO_YE = map.build();
    }

    @Override
    public Analyzer create() {
        return new ChainAnalyzer(
            source -> new SnowballFilter(
                new StopFilter(new LowerCaseFilter(source), RussianAnalyzer.getDefaultStopSet()),
                new RussianStemmer()
            ),
            LowerCaseFilter::new,
            YO_TO_YE
        );
    }
}
