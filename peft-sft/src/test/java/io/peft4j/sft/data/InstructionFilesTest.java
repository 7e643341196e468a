package io.peft4j.sft.data;

import io.peft4j.core.PeftException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InstructionFilesTest {
    private static Path write(Path dir, String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    @Test
    void alpacaRowsBecomeSystemUserAssistantTurns(@TempDir Path tmp) throws Exception {
        Path f = write(tmp, "a.jsonl", """
                {"instruction": "Reverse the word.", "input": "abc", "output": "cba", "task": "reverse"}

                {"instruction": "Say hi.", "output": "hi", "extra": 5}
                {"instruction": "Say hi.", "input": "", "output": "hi", "system": "Be brief."}
                """);
        List<Conversation> cs = InstructionFiles.read(f, InstructionFormat.ALPACA);
        assertThat(cs).hasSize(3);
        assertThat(cs.get(0).messages()).containsExactly(Message.user("Reverse the word.\n\nabc"), Message.assistant("cba"));
        assertThat(cs.get(0).task()).isEqualTo("reverse");
        assertThat(cs.get(0).where()).isEqualTo(f + ": line 1");
        assertThat(cs.get(1).messages()).containsExactly(Message.user("Say hi."), Message.assistant("hi"));
        assertThat(cs.get(1).task()).isEqualTo(Conversation.NO_TASK);
        assertThat(cs.get(1).line()).isEqualTo(3);
        assertThat(cs.get(2).messages()).containsExactly(Message.system("Be brief."), Message.user("Say hi."), Message.assistant("hi"));
        assertThat(cs.get(2).prompt()).containsExactly(Message.system("Be brief."), Message.user("Say hi."));
        assertThat(cs.get(2).response()).isEqualTo("hi");
    }

    @Test
    void chatAndCompletionRows(@TempDir Path tmp) throws Exception {
        Path chat = write(tmp, "c.jsonl", """
                {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]}
                """);
        Conversation c = InstructionFiles.read(chat, InstructionFormat.CHAT).get(0);
        assertThat(c.messages()).hasSize(5);
        assertThat(c.lastResponseIndex()).isEqualTo(4);
        assertThat(c.prompt()).hasSize(4);
        assertThat(c.response()).isEqualTo("A2");
        Path comp = write(tmp, "p.jsonl", "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n");
        assertThat(InstructionFiles.read(comp, InstructionFormat.COMPLETION).get(0).messages()).containsExactly(Message.user("2+2="), Message.assistant("4"));
        assertThat(InstructionFormat.parse("Chat")).isEqualTo(InstructionFormat.CHAT);
        assertThat(InstructionFormat.parse("csv")).isNull();
        assertThat(InstructionFormat.names()).isEqualTo("alpaca|chat|completion");
    }

    /** Each bad row is one error naming the file, the line and the field. */
    @Test
    void badRowsNameFileLineAndField(@TempDir Path tmp) throws Exception {
        String ok = "{\"instruction\": \"i\", \"output\": \"o\"}\n";
        record Case(InstructionFormat format, String line, String message) {
        }
        List<Case> cases = List.of(
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \"i\"}", "line 2: field 'output' is missing"),
                new Case(InstructionFormat.ALPACA, "{\"output\": \"o\"}", "line 2: field 'instruction' is missing"),
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \"i\", \"output\": 3}", "line 2: field 'output' is a number, not a string"),
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \" \", \"output\": \"o\"}", "line 2: field 'instruction' is empty"),
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \"i\", \"output\": \"o\", \"task\": [1]}", "line 2: field 'task' is an array, not a string"),
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \"i\", \"instruction\": \"j\", \"output\": \"o\"}", "line 2: not JSON (Duplicate field 'instruction')"),
                new Case(InstructionFormat.ALPACA, "{\"instruction\": \"i\", ", "line 2: not JSON"),
                new Case(InstructionFormat.ALPACA, "[{\"instruction\": \"i\"}]", "line 2: not a JSON object (an array); the file must hold one JSON object per line"),
                new Case(InstructionFormat.CHAT, "{\"messages\": []}", "line 2: field 'messages' is empty"),
                new Case(InstructionFormat.CHAT, "{\"text\": \"x\"}", "line 2: field 'messages' is missing"),
                new Case(InstructionFormat.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"content\": \"a\"}]}", "line 2: field 'messages[1].role' is missing"),
                new Case(InstructionFormat.CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": null}]}", "line 2: field 'messages[0].content' is null, not a string"),
                new Case(InstructionFormat.CHAT, "{\"messages\": [\"hi\"]}", "line 2: field 'messages[0]' is a string, not an object with role and content"),
                new Case(InstructionFormat.COMPLETION, "{\"prompt\": \"p\"}", "line 2: field 'completion' is missing"));
        for (Case k : cases) {
            String first = switch (k.format()) {
                case ALPACA -> ok;
                case CHAT -> "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n";
                case COMPLETION -> "{\"prompt\": \"p\", \"completion\": \"c\"}\n";
            };
            Path f = write(tmp, "bad.jsonl", first + k.line() + "\n" + first);
            assertThatThrownBy(() -> InstructionFiles.read(f, k.format())).as(k.line()).isInstanceOf(PeftException.class)
                    .hasMessageStartingWith(f + ": ").hasMessageContaining(k.message());
        }
    }

    @Test
    void invalidUtf8EmptyAndMissingFiles(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("latin1.jsonl");
        Files.write(f, "{\"instruction\": \"caf\u00e9\", \"output\": \"o\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> InstructionFiles.read(f, InstructionFormat.ALPACA)).hasMessageContaining("line 1: invalid UTF-8");
        Path empty = write(tmp, "empty.jsonl", "\n  \n");
        assertThatThrownBy(() -> InstructionFiles.read(empty, InstructionFormat.ALPACA)).hasMessage(empty + ": no examples");
        assertThatThrownBy(() -> InstructionFiles.read(tmp.resolve("none.jsonl"), InstructionFormat.ALPACA)).hasMessageContaining("none.jsonl: no such file");
    }
}
