package clip

import (
	"strings"
	"unicode/utf8"
)

// decodeTokens is CLIPTokenizer.convert_tokens_to_string followed by clean_up_tokenization, what
// tokenizer.decode does in transformers 4.33 when every token is in the vocabulary: join the tokens,
// map byte-level characters back to bytes, decode UTF-8 with errors="replace", turn "</w>" into a
// space, strip, then glue punctuation to the word before it.
func decodeTokens(toks []string) string {
	var raw []byte
	for _, tok := range toks {
		for _, r := range tok {
			if b, ok := byteDecoder[r]; ok {
				raw = append(raw, b)
			} else {
				// Python raises KeyError here; no CLIP vocabulary token has such a character.
				raw = utf8.AppendRune(raw, r)
			}
		}
	}
	text := strings.ReplaceAll(decodeReplace(raw), endOfWord, " ")
	return cleanUpTokenization(strings.TrimFunc(text, isPySpace))
}

// decodeReplace is Python's bytes.decode("utf-8", errors="replace"): each maximal ill-formed
// subsequence (Unicode's "maximal subpart" practice, which CPython follows) becomes one U+FFFD.
func decodeReplace(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			out.Write(b[:size])
			b = b[size:]
			continue
		}
		out.WriteRune(utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return out.String()
}

// maximalSubpart returns the length (at least 1) of the ill-formed UTF-8 prefix of b that a
// decoder replaces with one U+FFFD: a lead byte and the continuation bytes that could still have
// completed it (Unicode Table 3-7, "Well-Formed UTF-8 Byte Sequences").
func maximalSubpart(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}

// cleanUpTokenization is transformers' PreTrainedTokenizerBase.clean_up_tokenization, the default
// (clean_up_tokenization_spaces=True) last step of decode: one str.replace after another, in order.
func cleanUpTokenization(s string) string {
	for _, r := range cleanUpReplacements {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

var cleanUpReplacements = [][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}
