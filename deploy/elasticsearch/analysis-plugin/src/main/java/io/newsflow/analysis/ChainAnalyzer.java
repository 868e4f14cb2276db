package io.newsflow.analysis;

import java.io.Reader;
import java.util.function.UnaryOperator;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;

/**
 * A standard tokenizer followed by a chain of Lucene token filters.
 *
 * <p>Every Newsflow analyzer has this shape. The chains are assembled in code because the minimal
 * Elasticsearch distribution has no analysis-common module, so index settings cannot name the
 * filters (stemmers, folding, n-grams) themselves.
 *
 * <p>{@link #normalize} is what Elasticsearch applies to prefix, wildcard and fuzzy query terms;
 * it gets the case/accent part of the chain only, never stemming or n-grams.
 */
final class ChainAnalyzer extends Analyzer {
    private final UnaryOperator<TokenStream> filters;
    private final UnaryOperator<TokenStream> normalizer;
    private final NormalizeCharMap charMap;

    /**
     * @param filters    wraps the tokenizer with the analysis chain
     * @param normalizer wraps a single-term stream for query-term normalization
     * @param charMap    characters replaced before tokenizing, or {@code null} for none
     */
    ChainAnalyzer(UnaryOperator<TokenStream> filters, UnaryOperator<TokenStream> normalizer, NormalizeCharMap charMap) {
        this.filters = filters;
        this.normalizer = normalizer;
        this.charMap = charMap;
    }

    ChainAnalyzer(UnaryOperator<TokenStream> filters, UnaryOperator<TokenStream> normalizer) {
        this(filters, normalizer, null);
    }

    /** Lowercase then fold to ASCII ("Über" becomes "uber"): the language-neutral part of most chains. */
    static TokenStream lowerFold(TokenStream in) {
        return new ASCIIFoldingFilter(new LowerCaseFilter(in));
    }

    @Override
    protected TokenStreamComponents createComponents(String fieldName) {
        Tokenizer source = new StandardTokenizer();
        return new TokenStreamComponents(source, filters.apply(source));
    }

    @Override
    protected TokenStream normalize(String fieldName, TokenStream in) {
        return normalizer.apply(in);
    }

    @Override
    protected Reader initReader(String fieldName, Reader reader) {
        return charMap == null ? reader : new MappingCharFilter(charMap, reader);
    }

    @Override
    protected Reader initReaderForNormalization(String fieldName, Reader reader) {
        return initReader(fieldName, reader);
    }
}
