// Package clip implements the CLIP text side of Stable Diffusion: the BPE tokenizer and the text encoder.
package clip

import (
	"fmt"
	"sync"

	"github.com/nlpodyssey/gotokenizers/models/bpemodel"
	"github.com/nlpodyssey/gotokenizers/vocabulary"
)

// Tokenizer is transformers' slow CLIPTokenizer as diffusers' StableDiffusionPipeline calls it
// (transformers 4.33 without ftfy: tokenizer(prompt, padding="max_length", max_length=
// model_max_length, truncation=True)). It is safe for concurrent use.
//
// Encoding a prompt takes four steps:
//  1. special tokens (bos, eos, unk, pad and any others the folder declares) are cut out of the raw
//     text, so SD2's pad token "!" becomes id 0 wherever it appears (splitSpecial);
//  2. each remaining span is cleaned like BasicTokenizer (control characters dropped, whitespace
//     collapsed, CJK spaced, NFC, lower case; basicClean);
//  3. the cleaned text is cut by CLIP's split pattern (splitPieces);
//  4. each piece is byte-level encoded and merged by BPE with "</w>" on its last symbol (bpeWord).
type Tokenizer struct {
	vocab     *vocabulary.Vocabulary
	vocabSize int
	bpe       *bpemodel.BPEModel
	specials  []string
	bosID     int
	eosID     int
	padID     int
	unkID     int
	maxLen    int
	cache     wordCache
}

// Encoding is one prompt as the text encoder receives it.
type Encoding struct {
	// IDs has exactly MaxLength ids: bos, the token ids, eos, then pad ids. When the prompt is
	// too long, only its first MaxLength-2 token ids are kept.
	IDs []int
	// Tokens are the prompt's vocabulary tokens before truncation, without bos and eos
	// (for example "large</w>"; a special token in the prompt appears as itself).
	Tokens []string
	// TokenIDs are the ids of Tokens.
	TokenIDs []int
	// Truncated reports that tokens were dropped to fit MaxLength.
	Truncated bool
	// Dropped is the text of the dropped tokens, decoded as diffusers does for its truncation
	// warning (tokenizer.batch_decode of the removed ids); empty if nothing was dropped.
	Dropped string
}

// DefaultTokenizer returns the shared tokenizer on the embedded standard CLIP vocabulary with
// SD 1.x's special tokens (bos <|startoftext|>, eos and pad <|endoftext|>) and 77 positions.
func DefaultTokenizer() *Tokenizer {
	return defaultTokenizer()
}

var defaultTokenizer = sync.OnceValue(func() *Tokenizer {
	t, err := newEmbeddedTokenizer(defaultSpec())
	if err != nil {
		panic(err) // the embedded files are fixed at build time and checked by the tests
	}
	return t
})

// newTokenizer builds a tokenizer from the contents of vocab.json and merges.txt.
func newTokenizer(vocabData []byte, ml mergeList, vocabName string, spec tokenizerSpec) (*Tokenizer, error) {
	vocab, err := parseVocab(vocabData, vocabName)
	if err != nil {
		return nil, err
	}
	merges, err := parseMerges(ml, vocab)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{vocab: vocab, vocabSize: vocab.Size(), specials: spec.all, maxLen: spec.maxLen}
	for _, tok := range spec.all {
		if _, ok := vocab.GetID(tok); !ok {
			return nil, fmt.Errorf("clip: %s: %q is not in %s", spec.from[tok], tok, vocabName)
		}
	}
	t.bosID, _ = vocab.GetID(spec.bos)
	t.eosID, _ = vocab.GetID(spec.eos)
	t.padID, _ = vocab.GetID(spec.pad)
	t.unkID, _ = vocab.GetID(spec.unk)
	t.bpe = newBPE(vocab, merges, spec.unk)
	return t, nil
}

// MaxLength is the number of ids of every Encoding (tokenizer_config.json's model_max_length).
func (t *Tokenizer) MaxLength() int { return t.maxLen }

// PadID is the id that fills an Encoding after eos: <|endoftext|> in SD 1.x, "!" (0) in SD 2.x.
func (t *Tokenizer) PadID() int { return t.padID }

// BosID is the id of the token that starts every Encoding (<|startoftext|>, 49406).
func (t *Tokenizer) BosID() int { return t.bosID }

// EosID is the id of the token that ends every Encoding's text (<|endoftext|>, 49407).
func (t *Tokenizer) EosID() int { return t.eosID }

// VocabSize is the number of entries of vocab.json; every id is below it.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// MaxTextBytes bounds the texts the commands accept. Encode's time grows
// with the square of the longest word (BPE merges: a 64,000-letter word
// takes 0.4 s here, a 73 MB one would take days), while the pipeline reads
// only the first MaxLength-2 tokens, a few hundred characters; 32 KiB is
// far beyond any report and costs at most ~0.1 s.
const MaxTextBytes = 32 << 10

// CheckText reports a text longer than MaxTextBytes.
func CheckText(text string) error {
	if len(text) > MaxTextBytes {
		return fmt.Errorf("%d bytes, more than the %d roentgen reads (CLIP keeps only the first 75 tokens, a few hundred characters)", len(text), MaxTextBytes)
	}
	return nil
}

// Encode tokenizes text, adds bos and eos, truncates and pads to MaxLength. It accepts any bytes:
// invalid UTF-8 is read as U+FFFD, which the cleanup drops.
func (t *Tokenizer) Encode(text string) Encoding {
	toks := t.tokenize(text)
	enc := Encoding{
		IDs:      make([]int, t.maxLen),
		Tokens:   make([]string, len(toks)),
		TokenIDs: make([]int, len(toks)),
	}
	for i, tok := range toks {
		enc.Tokens[i], enc.TokenIDs[i] = tok.text, tok.id
	}
	keep := min(len(toks), t.maxLen-2)
	enc.IDs[0] = t.bosID
	copy(enc.IDs[1:], enc.TokenIDs[:keep])
	enc.IDs[1+keep] = t.eosID
	for i := keep + 2; i < t.maxLen; i++ {
		enc.IDs[i] = t.padID
	}
	if keep < len(toks) {
		enc.Truncated = true
		enc.Dropped = decodeTokens(enc.Tokens[keep:])
	}
	return enc
}

// tokenize is PreTrainedTokenizer.tokenize followed by convert_tokens_to_ids.
func (t *Tokenizer) tokenize(text string) []bpeToken {
	var toks []bpeToken
	splitSpecial(text, t.specials, func(span string, special bool) {
		if special {
			toks = append(toks, bpeToken{id: t.idOf(span), text: span})
			return
		}
		splitPieces(basicClean(span), func(piece string) {
			toks = append(toks, t.bpeWord(piece)...)
		})
	})
	return toks
}

// idOf is CLIPTokenizer._convert_token_to_id: the vocabulary id, or unk's.
func (t *Tokenizer) idOf(tok string) int {
	if id, ok := t.vocab.GetID(tok); ok {
		return id
	}
	return t.unkID
}

// Decode turns ids back into text as transformers 4.33's tokenizer.decode(ids) does (special tokens
// kept, clean_up_tokenization_spaces on). Ids outside the vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if tok, ok := t.vocab.GetString(id); ok {
			toks = append(toks, tok)
		}
	}
	return decodeTokens(toks)
}
