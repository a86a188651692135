package clip

import "unicode"

// The reference tokenizer runs on Python 3.11, whose unicodedata is Unicode 14.0.0, while Go 1.26's
// unicode tables are Unicode 15.0.0 (FIXTURES.md, "How they were made"). The predicates below give
// Python's answers: TestUnicodeVersionPinned fails if Go's tables move, so the table can be redone.

// unicode15Additions are the code points that Go's Unicode 15.0.0 tables assign but Python 3.11's
// unicodedata reports as category Cn, which transformers' BasicTokenizer drops as control characters.
// Made by comparing unicodedata.category(chr(cp)) (Python 3.11.7) with Go 1.26's unicode.Categories for
// every code point: no other category differs.
var unicode15Additions = &unicode.RangeTable{
	R16: []unicode.Range16{{0x0CF3, 0x0CF3, 1}, {0x0ECE, 0x0ECE, 1}},
	R32: []unicode.Range32{
		{0x10EFD, 0x10EFF, 1}, {0x1123F, 0x11241, 1}, {0x11B00, 0x11B09, 1}, {0x11F00, 0x11F10, 1},
		{0x11F12, 0x11F3A, 1}, {0x11F3E, 0x11F59, 1}, {0x1342F, 0x1342F, 1}, {0x13439, 0x13455, 1},
		{0x1B132, 0x1B132, 1}, {0x1B155, 0x1B155, 1}, {0x1D2C0, 0x1D2D3, 1}, {0x1DF25, 0x1DF2A, 1},
		{0x1E030, 0x1E06D, 1}, {0x1E08F, 0x1E08F, 1}, {0x1E4D0, 0x1E4F9, 1}, {0x1F6DC, 0x1F6DC, 1},
		{0x1F774, 0x1F776, 1}, {0x1F77B, 0x1F77F, 1}, {0x1F7D9, 0x1F7D9, 1}, {0x1FA75, 0x1FA77, 1},
		{0x1FA87, 0x1FA88, 1}, {0x1FAAD, 0x1FAAF, 1}, {0x1FABB, 0x1FABD, 1}, {0x1FABF, 0x1FABF, 1},
		{0x1FACE, 0x1FACF, 1}, {0x1FADA, 0x1FADB, 1}, {0x1FAE8, 0x1FAE8, 1}, {0x1FAF7, 0x1FAF8, 1},
		{0x2B739, 0x2B739, 1}, {0x31350, 0x323AF, 1},
	},
}

// isControl is transformers' _is_control: Unicode category C* (Cc, Cf, Cs, Co and unassigned Cn),
// except tab, newline and carriage return, which count as whitespace.
func isControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 || r == 0x7f) && r != '\t' && r != '\n' && r != '\r'
	}
	if unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z) {
		return unicode.Is(unicode15Additions, r)
	}
	return true
}

// isCleanSpace is transformers' _is_whitespace: space, tab, newline, carriage return and category Zs.
func isCleanSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}
	return unicode.Is(unicode.Zs, r)
}

// isPySpace is Python's str.isspace, which str.split() and str.strip() use: the Unicode White_Space
// characters plus the ASCII separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return (r >= 0x1c && r <= 0x1f) || unicode.Is(unicode.White_Space, r)
}

// isCJK is BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks and extensions A–E
// (as transformers 4.33 spells the ranges) and the two compatibility ideograph blocks.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// isCased is the Unicode Cased property (Lu, Ll, Lt, Other_Lowercase, Other_Uppercase) that
// Python's str.lower() consults for the final-sigma rule.
func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is the Unicode Case_Ignorable property: Mn, Me, Cf, Lm, Sk and the Word_Break
// classes MidLetter, MidNumLet and Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// isPieceSpace reports the characters that no alternative of the CLIP split pattern matches, so
// re.findall skips them: the regex module's \s, and U+0345 COMBINING GREEK YPOGEGRAMMENI, which
// under re.IGNORECASE is excluded from [^\s\p{L}\p{N}] (it case-folds to the letter ι) without
// being matched by [\p{L}] (checked with regex.fullmatch on every code point).
func isPieceSpace(r rune) bool {
	return r == 0x345 || unicode.Is(unicode.White_Space, r)
}
