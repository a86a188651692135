package clip

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gotokenizers/models/bpemodel"
	"github.com/nlpodyssey/gotokenizers/vocabulary"
)

// embeddedVocab is the standard CLIP vocabulary (see vocab/README.md).
//
//go:embed vocab/vocab.json.gz vocab/merges.txt.gz
var embeddedVocab embed.FS

// The files of a diffusers tokenizer/ folder.
const (
	vocabFile            = "vocab.json"
	mergesFile           = "merges.txt"
	fastTokenizerFile    = "tokenizer.json" // CLIPTokenizerFast's, read when vocab.json and merges.txt are absent
	tokenizerConfigFile  = "tokenizer_config.json"
	specialTokensMapFile = "special_tokens_map.json"
	addedTokensFile      = "added_tokens.json"
)

// defaultMaxLength is the CLIP text encoder's 77 positions, used when tokenizer_config.json has no
// model_max_length.
const defaultMaxLength = 77

// maxMergeLines is CLIPTokenizer's hard-coded cut of merges.txt,
// read().strip().split("\n")[1 : 49152 - 256 - 2 + 1]: at most 48894 merges after the header line.
const maxMergeLines = 49152 - 256 - 2

// specialTokenFields are transformers' SPECIAL_TOKENS_ATTRIBUTES holding one token, in its order;
// additional_special_tokens (a list) follows them.
var specialTokenFields = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

// tokenizerSpec is what the two JSON files of a tokenizer folder decide.
type tokenizerSpec struct {
	bos, eos, unk, pad string
	// all lists every special token once, in specialTokenFields order: the strings split out of a
	// prompt before cleanup (transformers' unique_no_split_tokens).
	all []string
	// from names the file and field each token came from, for error messages.
	from   map[string]string
	maxLen int
}

// defaultSpec is CLIPTokenizer.__init__'s defaults with SD 1.x's 77 positions.
func defaultSpec() tokenizerSpec {
	return tokenizerSpec{
		bos: startOfText, eos: endOfText, unk: endOfText, pad: endOfText,
		all:    []string{startOfText, endOfText},
		from:   map[string]string{},
		maxLen: defaultMaxLength,
	}
}

// LoadTokenizer reads a diffusers tokenizer/ folder: vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json. bos/eos/unk/pad (and any sep/cls/mask/additional special tokens) come from
// special_tokens_map.json, else tokenizer_config.json, else CLIPTokenizer's defaults; each may be a
// plain string or an AddedToken object {"content": ...}. model_max_length comes from
// tokenizer_config.json (default 77). If the folder has neither vocab.json nor merges.txt, the
// embedded standard CLIP vocabulary is used. Errors name the file and field.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer folder: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("clip: tokenizer folder %s is not a directory", dir)
	}
	return loadTokenizer(os.DirFS(dir), func(file string) string { return filepath.Join(dir, file) })
}

// LoadTokenizerFS is LoadTokenizer for an fs.FS rooted at the tokenizer folder, such as the
// embedded demo model's.
func LoadTokenizerFS(fsys fs.FS) (*Tokenizer, error) {
	if _, err := fs.Stat(fsys, "."); err != nil {
		return nil, fmt.Errorf("clip: tokenizer folder: %w", err)
	}
	return loadTokenizer(fsys, func(file string) string { return file })
}

func loadTokenizer(fsys fs.FS, path func(file string) string) (*Tokenizer, error) {
	cfg, err := readJSONObject(fsys, tokenizerConfigFile, path)
	if err != nil {
		return nil, err
	}
	stm, err := readJSONObject(fsys, specialTokensMapFile, path)
	if err != nil {
		return nil, err
	}
	added, err := readJSONObject(fsys, addedTokensFile, path)
	if err != nil {
		return nil, err
	}
	if err := checkAgree(cfg, stm, path); err != nil {
		return nil, err
	}
	for _, field := range []string{"padding_side", "truncation_side"} {
		var side string
		if raw, ok := cfg[field]; ok && (json.Unmarshal(raw, &side) != nil || side != "right") {
			return nil, fmt.Errorf("clip: %s: %s %s is not supported: roentgen pads and truncates prompts on the right, as CLIP's tokenizers do", path(tokenizerConfigFile), field, raw)
		}
	}
	spec, err := parseSpec(cfg, stm, path)
	if err != nil {
		return nil, err
	}

	vocabData, vocabErr := fs.ReadFile(fsys, vocabFile)
	mergesData, mergesErr := fs.ReadFile(fsys, mergesFile)
	var t *Tokenizer
	switch {
	case errors.Is(vocabErr, fs.ErrNotExist) && errors.Is(mergesErr, fs.ErrNotExist):
		fast, err := fs.ReadFile(fsys, fastTokenizerFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t, err = newEmbeddedTokenizer(spec)
		case err != nil:
			return nil, fmt.Errorf("clip: %s: %w", path(fastTokenizerFile), err)
		default:
			t, err = newFastFileTokenizer(fast, path(fastTokenizerFile), spec)
		}
		if err != nil {
			return nil, err
		}
	case vocabErr != nil:
		return nil, fmt.Errorf("clip: %s: %w", path(vocabFile), vocabErr)
	case mergesErr != nil:
		return nil, fmt.Errorf("clip: %s: %w", path(mergesFile), mergesErr)
	default:
		t, err = newTokenizer(vocabData, mergesFromText(mergesData, path(mergesFile)), path(vocabFile), spec)
	}
	if err != nil {
		return nil, err
	}
	if err := t.checkAdded(added, cfg["added_tokens_decoder"], path); err != nil {
		return nil, err
	}
	return t, nil
}

// checkAddedToken refuses an added token (listed in file where) other than
// a special token at its vocabulary id; see checkAdded.
func (t *Tokenizer) checkAddedToken(where, tok string, id int) error {
	if v, ok := t.vocab.GetID(tok); !ok || v != id || !slices.Contains(t.specials, tok) {
		return fmt.Errorf("clip: %s: added token %q (id %d) is not supported: roentgen reads only the vocabulary and its special tokens", where, tok, id)
	}
	return nil
}

// checkAgree refuses a folder in the format of transformers 4.34 and later
// (tokenizer_config.json with added_tokens_decoder) whose
// special_tokens_map.json names another special token than
// tokenizer_config.json: transformers 4.33 (roentgen's reference) takes
// the former, later versions read only the latter, so the two would
// tokenize differently. save_pretrained writes them alike.
func checkAgree(cfg, stm map[string]json.RawMessage, path func(string) string) error {
	if _, ok := cfg["added_tokens_decoder"]; !ok {
		return nil
	}
	for _, field := range specialTokenFields {
		rc, inCfg := cfg[field]
		rs, inStm := stm[field]
		if !inCfg || !inStm {
			continue
		}
		c, cNull, errC := parseTokenValue(rc)
		s, sNull, errS := parseTokenValue(rs)
		if errC == nil && errS == nil && (c != s || cNull != sNull) {
			return fmt.Errorf("clip: %s: %s %s disagrees with %s's %s (transformers 4.33 reads the first, 4.34 and later the second): make them agree",
				path(specialTokensMapFile), field, rs, path(tokenizerConfigFile), rc)
		}
	}
	return nil
}

// checkAdded accepts the added tokens a folder lists (added_tokens.json's
// token → id, tokenizer_config.json's added_tokens_decoder id → token)
// only when each is one of the special tokens at its id in the vocabulary.
// transformers 4.34 and later list CLIP's special tokens in
// added_tokens_decoder (and some versions in added_tokens.json) although
// the vocabulary holds them, and those change nothing; a token outside the
// vocabulary (a textual-inversion concept such as "<sks>") would get a new
// id and be split out of prompts, which roentgen does not do, so it is
// refused rather than encoded differently.
func (t *Tokenizer) checkAdded(added map[string]json.RawMessage, decoder json.RawMessage, path func(string) string) error {
	for _, tok := range slices.Sorted(maps.Keys(added)) {
		var id int
		if err := json.Unmarshal(added[tok], &id); err != nil {
			return fmt.Errorf("clip: %s: %q: want an integer id, got %s", path(addedTokensFile), tok, added[tok])
		}
		if err := t.checkAddedToken(path(addedTokensFile), tok, id); err != nil {
			return err
		}
	}
	if len(decoder) == 0 || string(decoder) == "null" {
		return nil
	}
	where := path(tokenizerConfigFile) + ": added_tokens_decoder"
	var dec map[string]json.RawMessage
	if err := json.Unmarshal(decoder, &dec); err != nil {
		return fmt.Errorf("clip: %s: %w", where, err)
	}
	for _, key := range slices.Sorted(maps.Keys(dec)) {
		id, err := strconv.Atoi(key)
		if err != nil {
			return fmt.Errorf("clip: %s: key %q is not an integer id", where, key)
		}
		tok, isNull, err := parseTokenValue(dec[key])
		if err == nil && isNull {
			err = errors.New("is null")
		}
		if err != nil {
			return fmt.Errorf("clip: %s[%q]: %w", where, key, err)
		}
		if err := t.checkAddedToken(where, tok, id); err != nil {
			return err
		}
	}
	return nil
}

// readJSONObject decodes a JSON object file into its fields; a missing file gives nil.
func readJSONObject(fsys fs.FS, file string, path func(string) string) (map[string]json.RawMessage, error) {
	data, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", path(file), err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", path(file), err)
	}
	return obj, nil
}

// specFiles are the decoded tokenizer_config.json and special_tokens_map.json of a folder.
type specFiles struct {
	cfg, stm map[string]json.RawMessage
	path     func(file string) string
}

// lookup applies transformers 4.33's precedence for a field: special_tokens_map.json overrides
// tokenizer_config.json. It also returns "file: field" for error messages.
func (f specFiles) lookup(field string) (json.RawMessage, string) {
	if raw, ok := f.stm[field]; ok {
		return raw, f.path(specialTokensMapFile) + ": " + field
	}
	if raw, ok := f.cfg[field]; ok {
		return raw, f.path(tokenizerConfigFile) + ": " + field
	}
	return nil, ""
}

// parseSpec reads the special tokens (falling back to CLIPTokenizer's defaults) and
// model_max_length. AddedToken flags (lstrip, rstrip, single_word, normalized) do not change the ids
// of transformers 4.33's slow tokenizer, so only the content is read.
func parseSpec(cfg, stm map[string]json.RawMessage, path func(string) string) (tokenizerSpec, error) {
	files := specFiles{cfg: cfg, stm: stm, path: path}
	spec := defaultSpec()
	spec.all = nil
	add := func(tok, where string) {
		if !slices.Contains(spec.all, tok) {
			spec.all = append(spec.all, tok)
			spec.from[tok] = where
		}
	}
	required := map[string]*string{"bos_token": &spec.bos, "eos_token": &spec.eos, "unk_token": &spec.unk, "pad_token": &spec.pad}
	for _, field := range specialTokenFields {
		raw, where := files.lookup(field)
		dst := required[field]
		if raw == nil {
			if dst != nil {
				add(*dst, "CLIPTokenizer default "+field)
			}
			continue
		}
		tok, isNull, err := parseTokenValue(raw)
		switch {
		case err != nil:
			return spec, fmt.Errorf("clip: %s: %w", where, err)
		case isNull && dst != nil:
			return spec, fmt.Errorf("clip: %s: is null, CLIP needs a %s", where, field)
		case isNull:
			continue
		case dst != nil:
			*dst = tok
		}
		add(tok, where)
	}
	extra, err := files.additionalTokens()
	if err != nil {
		return spec, err
	}
	for _, e := range extra {
		add(e[0], e[1])
	}
	spec.maxLen, err = files.maxLength()
	return spec, err
}

// additionalTokens reads additional_special_tokens as (token, "file: field[i]") pairs.
func (f specFiles) additionalTokens() ([][2]string, error) {
	raw, where := f.lookup("additional_special_tokens")
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", where, err)
	}
	toks := make([][2]string, len(list))
	for i, item := range list {
		at := fmt.Sprintf("%s[%d]", where, i)
		tok, isNull, err := parseTokenValue(item)
		if err == nil && isNull {
			err = errors.New("is null")
		}
		if err != nil {
			return nil, fmt.Errorf("clip: %s: %w", at, err)
		}
		toks[i] = [2]string{tok, at}
	}
	return toks, nil
}

// maxLength reads tokenizer_config.json's model_max_length, defaultMaxLength when absent or null.
func (f specFiles) maxLength() (int, error) {
	raw, ok := f.cfg["model_max_length"]
	if !ok || string(raw) == "null" {
		return defaultMaxLength, nil
	}
	const limit = 1 << 20
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || n < 2 || n > limit {
		return 0, fmt.Errorf("clip: %s: model_max_length: want an integer in 2..%d, got %s",
			f.path(tokenizerConfigFile), limit, raw)
	}
	return int(n), nil
}

// parseTokenValue reads a special token written as a string or as an AddedToken object.
func parseTokenValue(raw json.RawMessage) (tok string, isNull bool, err error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		var obj struct {
			Content *string `json:"content"`
		}
		if json.Unmarshal(raw, &obj) != nil || obj.Content == nil {
			return "", false, fmt.Errorf("want a string or an object with \"content\", got %s", raw)
		}
		tok = *obj.Content
	}
	if tok == "" {
		return "", false, errors.New("empty token")
	}
	return tok, false, nil
}

// newFastFileTokenizer builds a tokenizer from the BPE vocabulary and merges
// of a tokenizer.json (CLIPTokenizerFast's file; a folder holds it alone
// when saved with legacy_format=False or made by hand), all of its merges
// (the fast tokenizer does not cut them as CLIPTokenizer cuts merges.txt);
// its added tokens must be special tokens at their vocabulary ids
// (checkAdded).
func newFastFileTokenizer(data []byte, name string, spec tokenizerSpec) (*Tokenizer, error) {
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Model struct {
			Type            string            `json:"type"`
			Vocab           map[string]int    `json:"vocab"`
			Merges          []json.RawMessage `json:"merges"`
			EndOfWordSuffix *string           `json:"end_of_word_suffix"`
			SubwordPrefix   *string           `json:"continuing_subword_prefix"`
			Dropout         *float64          `json:"dropout"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", name, err)
	}
	m := tj.Model
	switch {
	case m.Type != "BPE" || len(m.Vocab) == 0:
		return nil, fmt.Errorf("clip: %s: model is %q with %d vocabulary entries, not CLIP's BPE", name, m.Type, len(m.Vocab))
	case m.EndOfWordSuffix == nil || *m.EndOfWordSuffix != "</w>":
		return nil, fmt.Errorf("clip: %s: model.end_of_word_suffix is not \"</w>\": not CLIP's BPE", name)
	case m.SubwordPrefix != nil && *m.SubwordPrefix != "" || m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("clip: %s: model.continuing_subword_prefix or model.dropout is set: not CLIP's BPE", name)
	}
	vocab, err := json.Marshal(m.Vocab)
	if err != nil {
		return nil, err
	}
	// Merges are "a b" strings, or ["a", "b"] pairs since tokenizers 0.20.
	ml := mergeList{name: name, none: "model.merges is empty", at: func(rank int) string { return fmt.Sprintf("model.merges[%d]", rank) }}
	for i, raw := range m.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			s = pair[0] + " " + pair[1]
		default:
			return nil, fmt.Errorf("clip: %s: model.merges[%d]: want \"a b\" or [\"a\", \"b\"], got %s", name, i, raw)
		}
		ml.lines = append(ml.lines, s)
	}
	t, err := newTokenizer(vocab, ml, name+": model.vocab", spec)
	if err != nil {
		return nil, err
	}
	for _, a := range tj.AddedTokens {
		if err := t.checkAddedToken(name+": added_tokens", a.Content, a.ID); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// newEmbeddedTokenizer builds a tokenizer on the embedded vocabulary.
func newEmbeddedTokenizer(spec tokenizerSpec) (*Tokenizer, error) {
	read := func(file string) ([]byte, error) {
		f, err := embeddedVocab.Open("vocab/" + file + ".gz")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("clip: embedded vocab/%s.gz: %w", file, err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("clip: embedded vocab/%s.gz: %w", file, err)
		}
		return data, nil
	}
	vocabData, err := read(vocabFile)
	if err != nil {
		return nil, err
	}
	mergesData, err := read(mergesFile)
	if err != nil {
		return nil, err
	}
	return newTokenizer(vocabData, mergesFromText(mergesData, "embedded "+mergesFile), "embedded "+vocabFile, spec)
}

// parseVocab reads vocab.json (token -> id) into a gotokenizers vocabulary. The ids must be exactly
// 0..N-1, which every CLIP vocabulary satisfies and which gotokenizers' AddTerm needs.
func parseVocab(data []byte, name string) (*vocabulary.Vocabulary, error) {
	var ids map[string]int
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", name, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("clip: %s: empty vocabulary", name)
	}
	terms := make([]string, len(ids))
	seen := make([]bool, len(ids))
	var outside []string
	for term, id := range ids {
		if id < 0 || id >= len(ids) {
			outside = append(outside, term)
			continue
		}
		if seen[id] {
			return nil, fmt.Errorf("clip: %s: id %d is used by both %q and %q", name, id, terms[id], term)
		}
		terms[id], seen[id] = term, true
	}
	if len(outside) > 0 {
		return nil, idGapError(ids, seen, outside, name)
	}
	vocab := vocabulary.NewVocabulary()
	for _, term := range terms {
		vocab.AddTerm(term)
	}
	return vocab, nil
}

// idGapError explains ids outside 0..N-1: some id below N then has no
// token. Usually a token was deleted, so a missing CLIP special token is
// named first (a vocabulary without <|startoftext|> otherwise reads as
// <|endoftext|> having a wrong id).
func idGapError(ids map[string]int, seen []bool, outside []string, name string) error {
	slices.Sort(outside)
	term := outside[0]
	gap := fmt.Sprintf("no token has id %d, and %q has id %d; want ids 0..%d", slices.Index(seen, false), term, ids[term], len(ids)-1)
	var missing []string
	for _, tok := range []string{startOfText, endOfText} {
		if _, ok := ids[tok]; !ok {
			missing = append(missing, strconv.Quote(tok))
		}
	}
	switch len(missing) {
	case 0:
		return fmt.Errorf("clip: %s: %s", name, gap)
	case 1:
		return fmt.Errorf("clip: %s: %s is missing (%s)", name, missing[0], gap)
	}
	return fmt.Errorf("clip: %s: %s are missing (%s)", name, strings.Join(missing, " and "), gap)
}

// mergesFromText splits merges.txt the way CLIPTokenizer does (strip, split
// lines, drop the first line, keep at most maxMergeLines).
func mergesFromText(data []byte, name string) mergeList {
	lines := strings.Split(strings.TrimFunc(string(data), isPySpace), "\n")[1:]
	if len(lines) > maxMergeLines {
		lines = lines[:maxMergeLines]
	}
	return mergeList{lines: lines, name: name, none: "no merges after the header line",
		at: func(rank int) string { return fmt.Sprintf("line %d", rank+2) }}
}

// mergeList is a BPE merge list ("a b" per entry, rank = order), with the
// file it came from and how to name entry rank in messages.
type mergeList struct {
	lines []string
	name  string
	none  string // the message for an empty list
	at    func(rank int) string
}

// parseMerges reads a merge list (a repeated pair keeps its last rank) into
// a gotokenizers merge map. Both symbols and their concatenation must be in
// the vocabulary.
func parseMerges(ml mergeList, vocab *vocabulary.Vocabulary) (*bpemodel.MergeMap, error) {
	name := ml.name
	if len(ml.lines) == 0 {
		// CLIPTokenizer would silently split every word into letters.
		return nil, fmt.Errorf("clip: %s: %s; CLIP's BPE needs its merge list", name, ml.none)
	}
	merges := bpemodel.NewMergeMap()
	for rank, line := range ml.lines {
		pair := strings.FieldsFunc(line, isPySpace)
		if len(pair) != 2 {
			return nil, fmt.Errorf("clip: %s: %s: want two symbols, got %q", name, ml.at(rank), line)
		}
		var ids [3]int
		for k, sym := range []string{pair[0], pair[1], pair[0] + pair[1]} {
			id, ok := vocab.GetID(sym)
			if !ok {
				return nil, fmt.Errorf("clip: %s: %s: %q is not in the vocabulary", name, ml.at(rank), sym)
			}
			ids[k] = id
		}
		merges.Set(ids[0], ids[1], bpemodel.MergeValue{Rank: rank, ID: ids[2]})
	}
	return merges, nil
}
