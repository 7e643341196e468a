package io.peft4j.instruct;

import io.peft4j.prompt.task.ClassifierTraining;
import io.peft4j.prompt.template.Template;
import io.peft4j.prompt.verbalizer.Verbalizer;

import java.util.ArrayList;
import java.util.List;

/**
 * One instruction of a task: a template with the answer slot {@code {mask}} and the label words that answer it. The
 * template-based scheme renders each example through {@link #template()}; the prefix and hypernetwork schemes
 * condition the model on {@link #text()} (the template's words, its slots left out) and render the example through
 * {@link #carrier()} (the template's slots alone).
 *
 * <pre>{@code
 * Instruction i = Instructions.builtin("spam").instructions().get(0);
 * i.id();          // "spam/sentence-1"
 * i.text();        // "Is the following e-mail spam? Answer yes or no. Subject:. Answer:."
 * i.carrier();     // "{text} {text_b} {mask}."
 * }</pre>
 *
 * @param id         {@code <task>/<form>-<n>}: the n-th instruction of that form in the file, from 1
 * @param task       the task it instructs
 * @param form       its form
 * @param template   the template as written in the file (its slots {@code {text}}, {@code {text_b}} read the fields named
 *                   so until {@link #forFields} maps them to a data set's text fields)
 * @param verbalizer its label words (the file's task-level words unless the instruction has its own)
 * @param source     where it was read: the file and field ({@code spam.json: instructions[2]}), for messages
 */
public record Instruction(String id, String task, Form form, Template template, Verbalizer verbalizer, String source) {

    /** The instruction's words: the template's literal text in order, its field and answer slots left out, whitespace collapsed. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Template.Part p : template.parts()) {
            if (p instanceof Template.Literal l) sb.append(l.lead()).append(l.text());
        }
        return sb.toString().replaceAll("\\s+", " ").strip();
    }

    /**
     * The input the prefix and hypernetwork schemes render, with no instruction words: the template's field slots in
     * their order, then {@code {mask}.} ({@code "{text} {text_b} {mask}."}); its fields read what the template's read.
     */
    public Template carrier() {
        List<String> slots = new ArrayList<>();
        for (Template.Part p : template.parts()) {
            if (p instanceof Template.Field f) slots.add(f.slot().equals(Template.TEXT) || f.slot().equals(Template.TEXT_B) ? "{" + f.slot() + "}" : "{field:" + f.slot() + "}");
        }
        Template c = Template.parse(String.join(" ", slots) + " {mask}.").withTruncation(template.truncation());
        for (String slot : c.slots()) {
            String field = template.recordField(slot);
            if (!field.equals(slot)) c = c.withField(slot, field);
        }
        return c;
    }

    /**
     * This instruction reading a data set's text fields: {@code {text}} the first, {@code {text_b}} the second (as
     * {@link ClassifierTraining#forData}).
     */
    public Instruction forFields(List<String> textFields) {
        return new Instruction(id, task, form, ClassifierTraining.forData(template, textFields), verbalizer, source);
    }

    @Override
    public String toString() {
        return id + " '" + template.text() + "'";
    }
}
