package clip

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// basicClean is what transformers 4.33's slow CLIPTokenizer._tokenize does to a text when ftfy is not
// installed: " ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text)).
// In order:
//  1. _clean_text drops NUL, U+FFFD and control characters and turns whitespace into a space
//     (an invalid UTF-8 byte decodes to U+FFFD here, so it is dropped too);
//  2. _tokenize_chinese_chars puts a space on both sides of every CJK ideograph;
//  3. unicodedata.normalize("NFC");
//  4. whitespace_tokenize splits on Python whitespace (str.split, which also splits on U+2028/U+2029);
//  5. each word is lower-cased with str.lower (accents kept: strip_accents=False);
//  6. the words are joined with single spaces.
func basicClean(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 2)
	for _, r := range text {
		switch {
		case r == 0 || r == utf8.RuneError || isControl(r):
			// dropped
		case isCleanSpace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := norm.NFC.String(b.String())

	b.Reset()
	b.Grow(len(s))
	for {
		i := strings.IndexFunc(s, notPySpace)
		if i < 0 {
			break
		}
		s = s[i:]
		j := strings.IndexFunc(s, isPySpace)
		if j < 0 {
			j = len(s)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		writeLower(&b, s[:j])
		s = s[j:]
	}
	return b.String()
}

// notPySpace is the complement of isPySpace, for strings.IndexFunc.
func notPySpace(r rune) bool { return !isPySpace(r) }

// writeLower appends Python's word.lower(): the Unicode full lowercase mapping, in which U+0130 İ
// becomes "i\u0307" and a capital sigma becomes final ς when it ends a cased word (Final_Sigma of
// Unicode's SpecialCasing.txt, as CPython's handle_capital_sigma applies it within the string).
// Go's strings.ToLower does neither.
func writeLower(b *strings.Builder, word string) {
	ascii := true
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(word); i++ {
			c := word[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
		return
	}
	runes := []rune(word)
	for i, r := range runes {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3A3:
			if isFinalSigma(runes, i) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
}

// isFinalSigma is the Final_Sigma condition for the capital sigma at runes[i]: a cased letter
// before it and none after it, skipping case-ignorable characters in both directions.
func isFinalSigma(runes []rune, i int) bool {
	j := i - 1
	for j >= 0 && isCaseIgnorable(runes[j]) {
		j--
	}
	if j < 0 || !isCased(runes[j]) {
		return false
	}
	j = i + 1
	for j < len(runes) && isCaseIgnorable(runes[j]) {
		j++
	}
	return j == len(runes) || !isCased(runes[j])
}

// splitSpecial cuts text at every occurrence of a special token, as transformers 4.33's
// PreTrainedTokenizer.tokenize does with its added-token trie before any cleanup: matching is exact
// (case-sensitive, anywhere, even inside a word), the earliest occurrence wins and, among tokens
// starting there, the longest. It calls emit for each piece in order, with special set for the
// tokens. Whitespace that the trie step strips next to a token (lstrip/rstrip, or both sides for a
// plain-string token such as SD2's "!") is whitespace that basicClean drops anyway.
func splitSpecial(text string, specials []string, emit func(piece string, special bool)) {
	// next[k] is the offset of the first occurrence of specials[k] at or after pos (-1: none left);
	// it is searched again only once pos has passed it, which keeps the whole scan linear.
	next := make([]int, len(specials))
	for k, s := range specials {
		next[k] = strings.Index(text, s)
	}
	for pos := 0; pos < len(text); {
		at, tok := -1, ""
		for k, s := range specials {
			if next[k] >= 0 && next[k] < pos {
				if i := strings.Index(text[pos:], s); i >= 0 {
					next[k] = pos + i
				} else {
					next[k] = -1
				}
			}
			if i := next[k]; i >= 0 && (at < 0 || i < at || (i == at && len(s) > len(tok))) {
				at, tok = i, s
			}
		}
		if at < 0 {
			emit(text[pos:], false)
			return
		}
		if at > pos {
			emit(text[pos:at], false)
		}
		emit(tok, true)
		pos = at + len(tok)
	}
}
