package clip

import (
	"slices"
	"testing"
)

// FuzzEncode feeds arbitrary bytes (invalid UTF-8 included) to the SD1 and SD2 tokenizers:
// Encode must not panic, must return MaxLength ids in the vocabulary, framed by bos and eos and
// padded, and the kept ids must be a prefix of TokenIDs. Seeds: the golden prompts plus the corpus
// in testdata/fuzz/FuzzEncode.
func FuzzEncode(f *testing.F) {
	for _, c := range loadGolden(f, "tiny-sd2").Cases {
		f.Add([]byte(c.Prompt))
	}
	sd1, sd2 := DefaultTokenizer(), loadFixtureTokenizer(f, "tiny-sd2")
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, tok := range []*Tokenizer{sd1, sd2} {
			enc := tok.Encode(string(text))
			if len(enc.IDs) != tok.MaxLength() {
				t.Fatalf("%d ids, want %d", len(enc.IDs), tok.MaxLength())
			}
			for _, id := range slices.Concat(enc.IDs, enc.TokenIDs) {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("id %d outside the vocabulary", id)
				}
			}
			if len(enc.Tokens) != len(enc.TokenIDs) {
				t.Fatalf("%d tokens, %d token ids", len(enc.Tokens), len(enc.TokenIDs))
			}
			keep := min(len(enc.TokenIDs), tok.MaxLength()-2)
			if enc.IDs[0] != tok.BosID() || enc.IDs[keep+1] != tok.EosID() ||
				!slices.Equal(enc.IDs[1:keep+1], enc.TokenIDs[:keep]) {
				t.Fatalf("ids %v do not frame token ids %v", enc.IDs, enc.TokenIDs)
			}
			for _, id := range enc.IDs[keep+2:] {
				if id != tok.PadID() {
					t.Fatalf("padding id %d, want %d", id, tok.PadID())
				}
			}
			if enc.Truncated != (keep < len(enc.TokenIDs)) || (enc.Dropped != "") && !enc.Truncated {
				t.Fatalf("truncated %v dropped %q with %d tokens", enc.Truncated, enc.Dropped, len(enc.TokenIDs))
			}
		}
	})
}
