package clip

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nlpodyssey/gotokenizers/models/bpemodel"
	"github.com/nlpodyssey/gotokenizers/vocabulary"
)

// endOfWord marks the last symbol of a word in the CLIP vocabulary ("large</w>").
const endOfWord = "</w>"

// bpeToken is one vocabulary token of an encoded text.
type bpeToken struct {
	id   int
	text string
}

// byteEncoder is GPT-2's bytes_to_unicode, which CLIP reuses: printable Latin-1 bytes map to
// themselves and the other 68 bytes to U+0100.. in byte order, so that every byte of a UTF-8 string
// is one visible vocabulary character.
var byteEncoder, byteDecoder = func() ([256]rune, map[rune]byte) {
	var enc [256]rune
	dec := make(map[rune]byte, 256)
	n := rune(0)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			enc[b] = rune(b)
		} else {
			enc[b] = 0x100 + n
			n++
		}
		dec[enc[b]] = byte(b)
	}
	return enc, dec
}()

// byteEncode maps each UTF-8 byte of piece to its byte-level character.
func byteEncode(piece string) string {
	var b strings.Builder
	b.Grow(2 * len(piece))
	for i := 0; i < len(piece); i++ {
		b.WriteRune(byteEncoder[piece[i]])
	}
	return b.String()
}

// The two strings CLIPTokenizer's split pattern and its preloaded bpe cache treat as whole tokens,
// whatever the configured special tokens are.
const (
	startOfText = "<|startoftext|>"
	endOfText   = "<|endoftext|>"
)

// splitPieces cuts cleaned text like CLIPTokenizer's pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// with re.IGNORECASE and re.findall: at each position the first alternative that matches wins, and
// positions where none matches (whitespace, see isPieceSpace) are skipped. It is a hand-written
// scanner because Go's regexp differs from the regex module here: its \s is ASCII only, and (?i)
// folds U+0345 into [\p{L}] (so "x\u0345y" would be one piece instead of "x", "y").
func splitPieces(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		if n := matchLiteral(s[i:]); n > 0 {
			emit(s[i : i+n])
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		var inRun func(rune) bool
		switch {
		case isPieceSpace(r):
			i += size
			continue
		case unicode.IsLetter(r):
			inRun = unicode.IsLetter
		case unicode.IsNumber(r):
			emit(s[i : i+size])
			i += size
			continue
		default:
			inRun = isOtherSymbol
		}
		j := i + size
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if !inRun(r) {
				break
			}
			j += size
		}
		emit(s[i:j])
		i = j
	}
}

// isOtherSymbol is the pattern's [^\s\p{L}\p{N}] class.
func isOtherSymbol(r rune) bool {
	return !isPieceSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r)
}

// literalAlternatives are the pattern's fixed-string alternatives, in pattern order.
var literalAlternatives = []string{startOfText, endOfText, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// matchLiteral returns the byte length of the literal alternative that s starts with, or 0.
func matchLiteral(s string) int {
	if s == "" || (s[0] != '<' && s[0] != '\'') {
		return 0
	}
	for _, lit := range literalAlternatives {
		if n := foldPrefix(s, lit); n > 0 {
			return n
		}
	}
	return 0
}

// foldPrefix returns the byte length of the prefix of s that equals the ASCII literal lit under the
// regex module's IGNORECASE, where ASCII letters match either case and "s" also matches U+017F ſ
// (checked on every code point for each letter of the literals); 0 if s does not start with it.
func foldPrefix(s, lit string) int {
	i := 0
	for k := 0; k < len(lit); k++ {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		if lit[k] == 's' && strings.HasPrefix(s[i:], "ſ") {
			i += len("ſ")
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[k] {
			return 0
		}
		i++
	}
	return i
}

// maxCachedWords bounds the word cache; when it is full it is emptied and refilled.
const maxCachedWords = 1 << 16

// wordCache is CLIPTokenizer.bpe's cache (a Python dict there) keyed by the piece before byte
// encoding, which is a bijection. It is safe for concurrent use.
type wordCache struct {
	mu    sync.RWMutex
	words map[string][]bpeToken
}

func (c *wordCache) get(piece string) ([]bpeToken, bool) {
	c.mu.RLock()
	toks, ok := c.words[piece]
	c.mu.RUnlock()
	return toks, ok
}

func (c *wordCache) put(piece string, toks []bpeToken) {
	c.mu.Lock()
	if c.words == nil || len(c.words) >= maxCachedWords {
		c.words = make(map[string][]bpeToken)
	}
	c.words[piece] = toks
	c.mu.Unlock()
}

// bpeWord is CLIPTokenizer.bpe for one piece of the split pattern, followed by the vocabulary lookup.
// The merging itself is gotokenizers' BPE model configured with the "</w>" end-of-word suffix: the
// last character becomes "c</w>" before merging, and merges apply lowest rank first, left to right.
func (t *Tokenizer) bpeWord(piece string) []bpeToken {
	if toks, ok := t.cache.get(piece); ok {
		return toks
	}
	var toks []bpeToken
	if piece == startOfText || piece == endOfText {
		// CLIPTokenizer preloads its bpe cache with these two, so they are never split or suffixed.
		toks = []bpeToken{{id: t.idOf(piece), text: piece}}
	} else {
		encoded := byteEncode(piece)
		merged, err := t.bpe.Tokenize(encoded)
		if err != nil {
			// Unreachable: the loader checked that the unknown token and every merge are in the
			// vocabulary. Encode must not fail, so fall back to the unknown token.
			toks = []bpeToken{{id: t.unkID, text: encoded + endOfWord}}
		}
		for _, m := range merged {
			toks = append(toks, bpeToken{id: m.ID, text: m.Value})
		}
	}
	t.cache.put(piece, toks)
	return toks
}

// newBPE wraps gotokenizers' BPE model with CLIP's settings: no cache of its own (wordCache does
// that), no dropout, unk for symbols missing from the vocabulary, no continuing-subword prefix, the
// "</w>" end-of-word suffix, and no fusing of unknown symbols.
func newBPE(vocab *vocabulary.Vocabulary, merges *bpemodel.MergeMap, unk string) *bpemodel.BPEModel {
	return bpemodel.New(vocab, merges, 0, 0, unk, "", endOfWord, false)
}
