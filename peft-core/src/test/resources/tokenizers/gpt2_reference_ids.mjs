import { getEncoding } from "js-tiktoken";
const enc = getEncoding("r50k_base");
const texts = [
  "Hello world", "hello, world!", " leading space", "multiple   spaces\tand\ttabs\n\nnewlines  ",
  "Numbers 1234567890 and 3.14159, 1,000,000", "It's we're they've I'm you'll he'd",
  "Emoji 😀🎉👍🏽 and 🤖", "中文分词测试，日本語のテキスト、한국어", "Ünïcödé àccénts ñ ß ø",
  "code: def f(x): return x**2  # comment", "   ", "a\u00a0b\u2003c", "The quick brown fox jumps over the lazy dog.",
  "<html><body>Tag soup &amp; entities</body></html>", "mixed123abc456 ___ --- !!!???", "line\r\nwindows"
];
const out = texts.map(t => ({ text: t, ids: enc.encode(t) }));
console.log(JSON.stringify(out, null, 1));
