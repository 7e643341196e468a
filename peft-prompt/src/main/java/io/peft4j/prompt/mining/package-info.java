/**
 * Prompt mining: searching label words and templates on labelled (few-shot) data.
 *
 * <p>{@link io.peft4j.prompt.mining.VerbalizerSearch} takes the best words per label from the whole vocabulary
 * (whole-word tokens, LM-BFF's candidate pools, PETAL's log-odds ratio) and returns them ranked with their scores and
 * as a {@link io.peft4j.prompt.verbalizer.Verbalizer}. {@link io.peft4j.prompt.mining.TemplateSearch} scores candidate
 * templates ({@link io.peft4j.prompt.mining.TemplateCandidates}: built-in and the user's files) zero-shot or after
 * few-shot training of a fresh adapter each, and ranks them on dev. Both results print as Markdown and JSON.
 *
 * <pre>{@code
 * VerbalizerSearch.Result words = VerbalizerSearch.search(model, tokenizer, Template.parse("{text}. It was {mask}."),
 *         Sampling.kShot(train, 16, 42), VerbalizerSearch.Options.defaults());
 * TemplateSearch.Result templates = TemplateSearch.builder(model, tokenizer).verbalizer(words.verbalizer()).build()
 *         .run(TemplateCandidates.builtin(false), Sampling.kShot(train, 16, 42), dev);
 * }</pre>
 */
package io.peft4j.prompt.mining;
