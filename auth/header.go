package auth

import (
	"strings"
	"unicode/utf8"
)

// ParseAuthorization reads an Authorization header value the way DRF 3.14's
// TokenAuthentication.authenticate does, so legacy clients see the same
// answers, except that it accepts two keywords, "Token" and "Bearer":
//
//   - no header, or a first word that is neither keyword (say "Basic ..."):
//     anonymous, so key == "" and err == nil;
//   - the keyword alone: ErrNoCredentials;
//   - more than two words: ErrTokenHasSpaces;
//   - a key that is not valid UTF-8: ErrTokenInvalidChars.
//
// DRF splits the raw header bytes with bytes.split(), so words are separated
// by runs of ASCII whitespace only, and compares the keyword with
// bytes.lower(), so only ASCII letters fold ("token" matches, a Kelvin sign
// does not). The key itself is not checked here; see WellFormedKey.
func ParseAuthorization(header string) (key string, err error) {
	words := strings.FieldsFunc(header, isPythonBytesSpace)
	if len(words) == 0 || !isKeyword(words[0]) {
		return "", nil
	}
	switch {
	case len(words) == 1:
		return "", ErrNoCredentials
	case len(words) > 2:
		return "", ErrTokenHasSpaces
	case !utf8.ValidString(words[1]):
		return "", ErrTokenInvalidChars
	}
	return words[1], nil
}

// isPythonBytesSpace reports whether r is one of the bytes Python's
// bytes.split() splits on. Bytes of 0x80 and above reach it as parts of
// runes (or utf8.RuneError), never as these.
func isPythonBytesSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// isKeyword reports whether word is "token" or "bearer" in any ASCII case.
func isKeyword(word string) bool {
	return asciiEqualFold(word, "token") || asciiEqualFold(word, "bearer")
}

// asciiEqualFold reports whether s equals the lowercase ASCII word lower
// when s's ASCII capitals are lowered, as Python's bytes.lower() does.
// strings.EqualFold would also fold non-ASCII runes such as U+212A.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
