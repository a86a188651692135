package clip

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fixtureFile reads one file of a fixture tokenizer folder.
func fixtureFile(t *testing.T, family, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tokenizerFolder(family), file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLoadTokenizerFSFallback loads tiny-sd2's two JSON files without vocab.json and merges.txt:
// the embedded vocabulary is used and every golden prompt encodes as with the full folder.
func TestLoadTokenizerFSFallback(t *testing.T) {
	fsys := fstest.MapFS{
		tokenizerConfigFile:  {Data: fixtureFile(t, "tiny-sd2", tokenizerConfigFile)},
		specialTokensMapFile: {Data: fixtureFile(t, "tiny-sd2", specialTokensMapFile)},
	}
	got, err := LoadTokenizerFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := loadFixtureTokenizer(t, "tiny-sd2")
	if got.PadID() != 0 {
		t.Fatalf("pad id %d, want 0 (\"!\")", got.PadID())
	}
	for _, c := range loadGolden(t, "tiny-sd2").Cases {
		if g, w := got.Encode(c.Prompt), want.Encode(c.Prompt); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %v, want %v", c.Name, g.IDs, w.IDs)
		}
	}
}

// newFormatFiles are tokenizer files as transformers 4.34 and later save
// an SD tokenizer (pad is "<|endoftext|>" for SD 1.x, "!" for SD 2.x):
// plain-string special tokens, their ids in added_tokens_decoder, and an
// added_tokens.json that lists them although the vocabulary holds them.
func newFormatFiles(pad string, padID int) fstest.MapFS {
	added := fmt.Sprintf(`{"<|endoftext|>": 49407, "<|startoftext|>": 49406, %q: %d}`, pad, padID)
	cfg := fmt.Sprintf(`{"add_prefix_space": false, "added_tokens_decoder": {
		"49406": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false, "special": true},
		"49407": {"content": "<|endoftext|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
		"%d": {"content": %q, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true}},
		"additional_special_tokens": [], "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": true,
		"do_lower_case": true, "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 77,
		"pad_token": %q, "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>"}`, padID, pad, pad)
	stm := fmt.Sprintf(`{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": %q, "unk_token": "<|endoftext|>"}`, pad)
	return fstest.MapFS{addedTokensFile: {Data: []byte(added)}, tokenizerConfigFile: {Data: []byte(cfg)},
		specialTokensMapFile: {Data: []byte(stm)}}
}

// TestLoadTokenizerNewFormat checks that both fixtures' tokenizers, saved
// in the format of transformers 4.34 and later, load and encode every
// golden prompt as the fixtures' own (transformers 4.33) files do.
func TestLoadTokenizerNewFormat(t *testing.T) {
	for _, c := range []struct {
		family, pad string
		padID       int
	}{{"tiny-sd1", "<|endoftext|>", 49407}, {"tiny-sd2", "!", 0}} {
		fsys := newFormatFiles(c.pad, c.padID)
		fsys[vocabFile] = &fstest.MapFile{Data: fixtureFile(t, c.family, vocabFile)}
		fsys[mergesFile] = &fstest.MapFile{Data: fixtureFile(t, c.family, mergesFile)}
		got, err := LoadTokenizerFS(fsys)
		if err != nil {
			t.Fatalf("%s: %v", c.family, err)
		}
		want := loadFixtureTokenizer(t, c.family)
		if got.PadID() != want.PadID() || got.MaxLength() != want.MaxLength() {
			t.Errorf("%s: pad %d max %d, want %d %d", c.family, got.PadID(), got.MaxLength(), want.PadID(), want.MaxLength())
		}
		for _, g := range loadGolden(t, c.family).Cases {
			if ge, we := got.Encode(g.Prompt), want.Encode(g.Prompt); !reflect.DeepEqual(ge, we) {
				t.Errorf("%s %s: %v, want %v", c.family, g.Name, ge.IDs, we.IDs)
			}
		}
	}
}

// TestLoadTokenizerSpecialTokenForms checks AddedToken objects, the precedence of
// special_tokens_map.json over tokenizer_config.json (transformers 4.33 from_pretrained), and a
// model_max_length other than 77.
func TestLoadTokenizerSpecialTokenForms(t *testing.T) {
	fsys := fstest.MapFS{
		tokenizerConfigFile: {Data: []byte(`{"model_max_length": 8, "pad_token": "<|endoftext|>",
			"bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": false}}`)},
		specialTokensMapFile: {Data: []byte(`{"pad_token": {"content": "!", "rstrip": false}}`)},
	}
	tok, err := LoadTokenizerFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	// "No acute cardiopulmonary process." is 8 tokens (golden tiny-sd1 tok_02, input_ids
	// [49406 871 19734 6211 39858 749 856 4078 269 49407]): the first 6 fit.
	enc := tok.Encode("No acute cardiopulmonary process.")
	want := []int{49406, 871, 19734, 6211, 39858, 749, 856, 49407}
	if !slices.Equal(enc.IDs, want) || tok.PadID() != 0 || !enc.Truncated || enc.Dropped != "process." {
		t.Errorf("got %v pad %d truncated %v dropped %q, want %v pad 0 dropped \"process.\"",
			enc.IDs, tok.PadID(), enc.Truncated, enc.Dropped, want)
	}
	if got := tok.Encode("").IDs; !slices.Equal(got, []int{49406, 49407, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("empty prompt: %v", got)
	}
}

// TestLoadTokenizerErrors checks that broken folders fail with the file and field named.
func TestLoadTokenizerErrors(t *testing.T) {
	vocab := fixtureFile(t, "tiny-sd1", vocabFile)
	for _, tc := range []struct {
		name  string
		fsys  fstest.MapFS
		wants []string
	}{
		{"bad config json", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{`)}},
			[]string{tokenizerConfigFile}},
		{"pad not in vocab", fstest.MapFS{specialTokensMapFile: {Data: []byte(`{"pad_token": "<pad>"}`)}},
			[]string{specialTokensMapFile, "pad_token", "<pad>"}},
		{"null eos", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"eos_token": null}`)}},
			[]string{tokenizerConfigFile, "eos_token", "null"}},
		{"token number", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"bos_token": 7}`)}},
			[]string{tokenizerConfigFile, "bos_token", "content"}},
		{"object without content", fstest.MapFS{specialTokensMapFile: {Data: []byte(`{"unk_token": {"lstrip": true}}`)}},
			[]string{specialTokensMapFile, "unk_token", "content"}},
		{"bad additional", fstest.MapFS{specialTokensMapFile: {Data: []byte(`{"additional_special_tokens": ["<x>"]}`)}},
			[]string{specialTokensMapFile, "additional_special_tokens[0]", "<x>"}},
		{"max length", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"model_max_length": 1e30}`)}},
			[]string{tokenizerConfigFile, "model_max_length"}},
		{"merges missing", fstest.MapFS{vocabFile: {Data: vocab}}, []string{mergesFile}},
		{"vocab ids", fstest.MapFS{vocabFile: {Data: []byte(`{"a": 0, "b": 2}`)}, mergesFile: {Data: []byte("#version: 0.2\n")}},
			[]string{vocabFile, `"b"`, "id 2"}},
		{"merge not in vocab", fstest.MapFS{vocabFile: {Data: []byte(`{"a": 0, "b": 1, "<|startoftext|>": 2, "<|endoftext|>": 3}`)},
			mergesFile: {Data: []byte("#version: 0.2\na b\n")}}, []string{mergesFile, "line 2", `"ab"`}},
		{"malformed merge", fstest.MapFS{vocabFile: {Data: vocab}, mergesFile: {Data: []byte("#version: 0.2\ni n x\n")}},
			[]string{mergesFile, "line 2"}},
		{"added tokens", fstest.MapFS{addedTokensFile: {Data: []byte(`{"<cat>": 49408}`)}},
			[]string{addedTokensFile, `"<cat>"`, "49408"}},
		{"added special token at another id", fstest.MapFS{addedTokensFile: {Data: []byte(`{"<|endoftext|>": 5}`)}},
			[]string{addedTokensFile, `"<|endoftext|>"`, "id 5"}},
		{"added word of the vocabulary", fstest.MapFS{addedTokensFile: {Data: []byte(`{"acute</w>": 19734}`)}},
			[]string{addedTokensFile, `"acute</w>"`}},
		{"added token id not a number", fstest.MapFS{addedTokensFile: {Data: []byte(`{"<|endoftext|>": "x"}`)}},
			[]string{addedTokensFile, "integer"}},
		{"decoder token", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"added_tokens_decoder": {"49408": {"content": "<sks>"}}}`)}},
			[]string{tokenizerConfigFile, "added_tokens_decoder", `"<sks>"`}},
		{"decoder key", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"added_tokens_decoder": {"x": {"content": "<|endoftext|>"}}}`)}},
			[]string{tokenizerConfigFile, "added_tokens_decoder", `"x"`}},
		{"decoder not an object", fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"added_tokens_decoder": [1]}`)}},
			[]string{tokenizerConfigFile, "added_tokens_decoder"}},
	} {
		_, err := LoadTokenizerFS(tc.fsys)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
	if _, err := LoadTokenizer(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing folder: no error")
	}
}

// TestLoadTokenizerBrokenVocabMerges checks the messages for a vocab.json
// that lost a special token (named, rather than blaming the last token's
// id) and for a merges.txt without merges (refused, rather than encoding
// every word letter by letter).
func TestLoadTokenizerBrokenVocabMerges(t *testing.T) {
	full := fixtureFile(t, "tiny-sd1", vocabFile)
	merges := fixtureFile(t, "tiny-sd1", mergesFile)
	without := func(drop ...string) []byte {
		var ids map[string]int
		if err := json.Unmarshal(full, &ids); err != nil {
			t.Fatal(err)
		}
		for _, d := range drop {
			delete(ids, d)
		}
		b, err := json.Marshal(ids)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name         string
		vocab, merge []byte
		want         string
	}{
		{"no startoftext", without(startOfText), merges,
			`clip: vocab.json: "<|startoftext|>" is missing (no token has id 49406, and "<|endoftext|>" has id 49407; want ids 0..49406)`},
		{"no specials", without(startOfText, endOfText), merges,
			`clip: CLIPTokenizer default bos_token: "<|startoftext|>" is not in vocab.json`},
		{"no specials and a gap", []byte(`{"a": 0, "b": 2}`), merges,
			`clip: vocab.json: "<|startoftext|>" and "<|endoftext|>" are missing (no token has id 1, and "b" has id 2; want ids 0..1)`},
		{"gap", []byte(`{"<|startoftext|>": 0, "<|endoftext|>": 1, "a": 3}`), merges,
			`clip: vocab.json: no token has id 2, and "a" has id 3; want ids 0..2`},
		{"empty merges", full, []byte{}, "clip: merges.txt: no merges after the header line; CLIP's BPE needs its merge list"},
		{"header only", full, []byte("#version: 0.2\n\n"), "clip: merges.txt: no merges after the header line; CLIP's BPE needs its merge list"},
	} {
		_, err := LoadTokenizerFS(fstest.MapFS{vocabFile: {Data: tc.vocab}, mergesFile: {Data: tc.merge}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
	// One merge after the header is enough.
	if _, err := LoadTokenizerFS(fstest.MapFS{vocabFile: {Data: full}, mergesFile: {Data: []byte("#version: 0.2\ni n\n")}}); err != nil {
		t.Errorf("one merge: %v", err)
	}
}

// TestLoadTokenizerFilesDisagree: in the format of transformers 4.34 and
// later, a special_tokens_map.json naming another pad token than
// tokenizer_config.json is refused (4.33 and later versions would pad
// differently); agreeing files and the older format load.
func TestLoadTokenizerFilesDisagree(t *testing.T) {
	fsys := newFormatFiles("<|endoftext|>", 49407)
	fsys[specialTokensMapFile] = &fstest.MapFile{Data: []byte(`{"pad_token": {"content": "!", "normalized": false}}`)}
	_, err := LoadTokenizerFS(fsys)
	if err == nil || !strings.Contains(err.Error(), "pad_token") || !strings.Contains(err.Error(), specialTokensMapFile) {
		t.Errorf("disagreeing pad tokens: %v", err)
	}
	fsys[specialTokensMapFile] = &fstest.MapFile{Data: []byte(`{"pad_token": {"content": "<|endoftext|>", "normalized": false}}`)}
	if _, err := LoadTokenizerFS(fsys); err != nil {
		t.Errorf("agreeing pad tokens: %v", err)
	}
	old := fstest.MapFS{tokenizerConfigFile: {Data: []byte(`{"pad_token": "<|endoftext|>"}`)}, specialTokensMapFile: {Data: []byte(`{"pad_token": "!"}`)}}
	if tok, err := LoadTokenizerFS(old); err != nil || tok.PadID() != 0 {
		t.Errorf("older format: special_tokens_map.json wins: pad %v, %v", tok, err)
	}
}

// TestLoadTokenizerSides: padding_side and truncation_side "right" (the
// default, as transformers saves it) load; "left" is refused, naming the
// field.
func TestLoadTokenizerSides(t *testing.T) {
	for _, field := range []string{"padding_side", "truncation_side"} {
		ok := fstest.MapFS{tokenizerConfigFile: {Data: []byte(fmt.Sprintf(`{%q: "right"}`, field))}}
		if _, err := LoadTokenizerFS(ok); err != nil {
			t.Errorf("%s right: %v", field, err)
		}
		left := fstest.MapFS{tokenizerConfigFile: {Data: []byte(fmt.Sprintf(`{%q: "left"}`, field))}}
		if _, err := LoadTokenizerFS(left); err == nil || !strings.Contains(err.Error(), field+` "left"`) {
			t.Errorf("%s left: %v", field, err)
		}
	}
}

// fastFile is a tokenizer.json holding the fixture's vocabulary and its
// first nMerges merges (as "a b" strings, or as pairs), with the given
// added tokens.
func fastFile(t *testing.T, family string, nMerges int, pairs bool, added string) []byte {
	t.Helper()
	var vocab map[string]int
	if err := json.Unmarshal(fixtureFile(t, family, vocabFile), &vocab); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(fixtureFile(t, family, mergesFile))), "\n")[1:]
	var merges []any
	for _, l := range lines[:min(nMerges, len(lines))] {
		if pairs {
			merges = append(merges, strings.Fields(l))
		} else {
			merges = append(merges, l)
		}
	}
	m, err := json.Marshal(map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "end_of_word_suffix": "</w>",
		"continuing_subword_prefix": nil, "dropout": nil})
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`{"version": "1.0", "added_tokens": %s, "model": %s}`, added, m))
}

// TestLoadTokenizerFastFile: a folder with tokenizer.json and no vocab.json
// or merges.txt (as CLIPTokenizerFast saves it) is read from tokenizer.json
// (merges as strings or as pairs), not from the built-in vocabulary: the
// golden prompts encode as the fixture's, a shorter merge list encodes
// otherwise, and an added token outside the vocabulary is refused.
func TestLoadTokenizerFastFile(t *testing.T) {
	specials := `[{"id": 49406, "content": "<|startoftext|>", "special": true}, {"id": 49407, "content": "<|endoftext|>", "special": true}]`
	want := loadFixtureTokenizer(t, "tiny-sd1")
	for _, pairs := range []bool{false, true} {
		got, err := LoadTokenizerFS(fstest.MapFS{fastTokenizerFile: {Data: fastFile(t, "tiny-sd1", 1<<20, pairs, specials)}})
		if err != nil {
			t.Fatalf("pairs %v: %v", pairs, err)
		}
		for _, g := range loadGolden(t, "tiny-sd1").Cases {
			if ge, we := got.Encode(g.Prompt), want.Encode(g.Prompt); !reflect.DeepEqual(ge, we) {
				t.Errorf("pairs %v %s: %v, want %v", pairs, g.Name, ge.IDs, we.IDs)
			}
		}
	}
	short, err := LoadTokenizerFS(fstest.MapFS{fastTokenizerFile: {Data: fastFile(t, "tiny-sd1", 1000, false, specials)}})
	if err != nil {
		t.Fatal(err)
	}
	if p := "Large right-sided pleural effusion."; slices.Equal(short.Encode(p).IDs, want.Encode(p).IDs) {
		t.Error("a tokenizer.json with 1000 merges encodes as the full list: it was not read")
	}
	sks := `[{"id": 49406, "content": "<|startoftext|>"}, {"id": 49408, "content": "<sks>"}]`
	if _, err := LoadTokenizerFS(fstest.MapFS{fastTokenizerFile: {Data: fastFile(t, "tiny-sd1", 1<<20, false, sks)}}); err == nil ||
		!strings.Contains(err.Error(), fastTokenizerFile+`: added_tokens: added token "<sks>" (id 49408)`) {
		t.Errorf("<sks>: %v", err)
	}
	for _, c := range []struct{ json, want string }{
		{`{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`, `model is "WordPiece"`},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}}`, `model.end_of_word_suffix is not "</w>"`},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"], "end_of_word_suffix": "</w>", "dropout": 0.1}}`, "model.dropout"},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "end_of_word_suffix": "</w>"}}`, "model.merges is empty"},
		{`{"model": {"type": "BPE", "vocab": {"<|startoftext|>": 0, "<|endoftext|>": 1, "a": 2}, "merges": ["a a"], "end_of_word_suffix": "</w>"}}`,
			`model.merges[0]: "aa" is not in the vocabulary`},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7], "end_of_word_suffix": "</w>"}}`, "model.merges[0]: want"},
	} {
		if _, err := LoadTokenizerFS(fstest.MapFS{fastTokenizerFile: {Data: []byte(c.json)}}); err == nil ||
			!strings.Contains(err.Error(), fastTokenizerFile+": "+c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.json, err, c.want)
		}
	}
}
