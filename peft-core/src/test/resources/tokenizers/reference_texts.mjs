// Texts for the extended references: edge cases by hand, then the first e-mails of the spam dev set.
import fs from "node:fs";
export function texts(spamDev) {
  const crafted = [
    "", " ", "   ", "\n", "\n\n\n", "\t", "a", "A", "hello", " hello", "hello ", "hello   ", "  hello  world  ",
    "line one\r\nline two\r\n", "tab\tseparated\tvalues", "non\u00a0breaking\u00a0space", "ideographic\u3000space", "thin\u2009space and\u2028separator",
    "zero\u200bwidth", "soft\u00adhyphen", "nul\u0000char", "bell\u0007 and escape\u001b[0m",
    "I'M DON'T WE'LL THEY'RE SHE'S YOU'VE HE'D", "don’t curly’s", "'s 's's '' ''s", "rock 'n' roll", "o'clock",
    "1234567890", "12 345 6789 0", "3.14159265358979", "１２３４５ fullwidth", "٣٤٥ arabic-indic", "Ⅻ roman ½ ² ³",
    "e\u0301 combining acute, n\u0303 tilde, a\u0308\u0304 two marks", "café résumé naïve", "ﬁ ligature ﬀ", "Ａｂｃ fullwidth letters",
    "한국어 텍스트", "\u1100\u1161\u11a8 decomposed hangul", "中文分词测试，标点符号。", "日本語とカタカナ、ひらがな。", "ไทยภาษา", "हिन्दी भाषा", "العربية نص", "עברית", "Ελληνικά ΣΊΣΥΦΟΣ", "русский текст",
    "👨‍👩‍👧‍👦 family, 🇫🇷 flag, 👍🏽 skin tone, ❤️ variation", "🙂🙂🙂", "a🙂b", "∑∫√∞≈≠", "→←↑↓", "©®™", "\u{1F9EA}\u{1FAE0} new emoji",
    "https://example.com/path?q=1&r=two#frag", "user@example.org", "#hashtag @mention $100 50% a&b", "C:\\Users\\name\\file.txt",
    "def f(x):\n    return x ** 2\n\n\nclass A:\n\tpass\n", "    indented\n        more\n", "if (a && b || !c) { x += 1; }", "<div class=\"x\">html</div>",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababababababababababababababababababab", "!!!!!!!!!!!!!!!!!!!!????", "....", "— – - hyphens", "\"quoted\" 'single' «guillemets»",
    "Hello<s>world</s>", "<s> <s>", "<unk>", "<|endoftext|>", "<|begin_of_text|>Hi<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "<tool_call>{\"a\": 1}</tool_call>", "<think>\nreasoning\n</think>\n\nanswer", "<|im_start <|im_end| <|eot_id",
    "x<|im_end|>y", " <|im_start|> spaced ", "<|reserved_special_token_3|>", "ſ long s 'ſ", "İstanbul ıi", "MiXeD CaSe WoRdS", "UPPERCASE WORDS ONLY",
    "snake_case_name and camelCaseName and kebab-case-name", "emails: a.b@c.de, x_y@z.com", "tab\t \t mixed \n \n whitespace",
  ];
  const spam = fs.readFileSync(spamDev, "utf8").split("\n").filter(l => l.trim()).slice(0, 40)
    .map(l => JSON.parse(l).text.slice(0, 1200));
  return [...crafted, ...spam];
}
