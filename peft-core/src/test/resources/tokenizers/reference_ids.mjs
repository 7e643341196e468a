// node reference_ids.mjs <dir with tokenizer.json + tokenizer_config.json> <spam dev.jsonl> > <dir>/reference-ids-extended.jsonl
import fs from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { texts } from "./reference_texts.mjs";
const [dir, spam] = process.argv.slice(2);
const tj = JSON.parse(fs.readFileSync(`${dir}/tokenizer.json`, "utf8"));
const tc = JSON.parse(fs.readFileSync(`${dir}/tokenizer_config.json`, "utf8"));
const tok = new Tokenizer(tj, tc);
for (const text of texts(spam)) {
  const ids = tok.encode(text, { add_special_tokens: true }).ids;
  const ids_no_special = tok.encode(text, { add_special_tokens: false }).ids;
  const dec = (x, o) => x.length ? tok.decode(x, o) : "";
  const decoded = dec(ids_no_special, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  const decoded_skip_special = dec(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  console.log(JSON.stringify({ text, ids, ids_no_special, decoded, decoded_skip_special }));
}
