// node reference_chat.mjs <dir with tokenizer.json + tokenizer_config.json> > <dir>/reference-chat-extended.jsonl
import fs from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
const [dir] = process.argv.slice(2);
const tj = JSON.parse(fs.readFileSync(`${dir}/tokenizer.json`, "utf8"));
const tc = JSON.parse(fs.readFileSync(`${dir}/tokenizer_config.json`, "utf8"));
const tok = new Tokenizer(tj, tc);
const tpl = new Template(tc.chat_template);
const weather = { type: "function", function: { name: "get_weather", description: "Weather for a city, in °C",
  parameters: { type: "object", properties: { city: { type: "string", description: "e.g. \"Paris\"" }, days: { type: "integer" } }, required: ["city"] } } };
const cases = [
  { messages: [{ role: "user", content: "Hi" }], add_generation_prompt: true },
  { messages: [{ role: "user", content: "Hi" }], add_generation_prompt: false },
  { messages: [{ role: "system", content: "  Be brief.  " }, { role: "user", content: "What is 2+2?\n" }, { role: "assistant", content: "4" }, { role: "user", content: "And 3+3? 🙂" }], add_generation_prompt: true },
  { messages: [{ role: "user", content: "Why?" }, { role: "assistant", content: "<think>\nThe user asks why.\n</think>\n\nBecause." }], add_generation_prompt: false },
  { messages: [{ role: "user", content: "Q1" }, { role: "assistant", content: "<think>r1</think>A1" }, { role: "user", content: "Q2" }, { role: "assistant", content: "A2" }], add_generation_prompt: false },
  { messages: [{ role: "user", content: "Think less." }], add_generation_prompt: true, enable_thinking: false },
  { messages: [{ role: "system", content: "You can call tools." }, { role: "user", content: "Weather in Paris?" }], add_generation_prompt: true, tools: [weather] },
  { messages: [{ role: "user", content: "Weather in Paris?" },
               { role: "assistant", content: "", tool_calls: [{ type: "function", function: { name: "get_weather", arguments: { city: "Paris", days: 2 } } }] },
               { role: "tool", content: "{\"temp\": 21}" }, { role: "tool", content: "sunny" }, { role: "assistant", content: "21 °C and sunny." }], add_generation_prompt: false, tools: [weather] },
  { messages: [{ role: "user", content: "<tool_response>x</tool_response>" }, { role: "assistant", content: "ok", tool_calls: [{ name: "f", arguments: "{\"a\":1}" }] }], add_generation_prompt: true },
  { messages: [{ role: "user", content: "日本語で答えて。" }, { role: "assistant", content: "はい、わかりました。" }], add_generation_prompt: true },
];
for (const c of cases) {
  const vars = { ...c, bos_token: tc.bos_token ?? "", eos_token: tc.eos_token ?? "" };
  let text;
  try { text = tpl.render(vars); } catch (e) { console.error("skip", e.message); continue; }
  const ids = tok.encode(text, { add_special_tokens: false }).ids;
  console.log(JSON.stringify({ ...c, text, ids }));
}
