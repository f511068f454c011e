package rest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// pyJSONError finds the first error Python's json module (CPython's C
// scanner, as DRF's JSONParser runs it in strict mode) reports for body,
// worded as DRF shows it after "JSON parse error - ", or "" when body
// parses. Legacy clients saw these exact words, and some show them.
func pyJSONError(body []byte) string {
	if !utf8.Valid(body) {
		return utf8Error(body)
	}
	s := []rune(string(body))
	p := &pyScanner{s: s}
	if len(s) > 0 && s[0] == '\uFEFF' {
		return p.errorAt("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0)
	}
	pos := p.skipSpace(0)
	end, msg := p.value(pos, 0)
	if msg != "" {
		return msg
	}
	if end = p.skipSpace(end); end != len(s) {
		return p.errorAt("Extra data", end)
	}
	return ""
}

// maxJSONDepth stops a body nested so deep that Python would give up (it
// answers a server error there); the gateway answers a parse error instead.
const maxJSONDepth = 512

type pyScanner struct {
	s []rune
}

// errorAt words an error as JSONDecodeError's str(): the message, then the
// line, column and character index of pos.
func (p *pyScanner) errorAt(msg string, pos int) string {
	line, col := 1, pos+1
	for i := 0; i < pos && i < len(p.s); i++ {
		if p.s[i] == '\n' {
			line++
			col = pos - i
		}
	}
	return fmt.Sprintf("%s: line %d column %d (char %d)", msg, line, col, pos)
}

func (p *pyScanner) skipSpace(i int) int {
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t' || p.s[i] == '\n' || p.s[i] == '\r') {
		i++
	}
	return i
}

func (p *pyScanner) hasPrefix(i int, lit string) bool {
	return strings.HasPrefix(string(p.s[i:min(len(p.s), i+len(lit))]), lit)
}

// value scans one value at i and returns the index after it.
func (p *pyScanner) value(i, depth int) (int, string) {
	if i >= len(p.s) {
		return i, p.errorAt("Expecting value", i)
	}
	if depth > maxJSONDepth {
		return i, p.errorAt("Nesting too deep", i)
	}
	switch c := p.s[i]; {
	case c == '"':
		return p.str(i)
	case c == '{':
		return p.object(i, depth)
	case c == '[':
		return p.array(i, depth)
	case c == 'n' && p.hasPrefix(i, "null"):
		return i + 4, ""
	case c == 't' && p.hasPrefix(i, "true"):
		return i + 4, ""
	case c == 'f' && p.hasPrefix(i, "false"):
		return i + 5, ""
	case c == 'N' && p.hasPrefix(i, "NaN"):
		return i, "Out of range float values are not JSON compliant: 'NaN'"
	case c == 'I' && p.hasPrefix(i, "Infinity"):
		return i, "Out of range float values are not JSON compliant: 'Infinity'"
	case c == '-' && p.hasPrefix(i, "-Infinity"):
		return i, "Out of range float values are not JSON compliant: '-Infinity'"
	case c == '-' || '0' <= c && c <= '9':
		return p.number(i)
	}
	return i, p.errorAt("Expecting value", i)
}

// number matches Python's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?,
// taking as much as matches; what follows is the caller's to judge.
func (p *pyScanner) number(i int) (int, string) {
	start := i
	if p.s[i] == '-' {
		i++
	}
	switch {
	case i < len(p.s) && p.s[i] == '0':
		i++
	case i < len(p.s) && '1' <= p.s[i] && p.s[i] <= '9':
		i = p.digits(i)
	default:
		return start, p.errorAt("Expecting value", start)
	}
	if i+1 < len(p.s) && p.s[i] == '.' && isDigitRune(p.s[i+1]) {
		i = p.digits(i + 1)
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		j := i + 1
		if j < len(p.s) && (p.s[j] == '+' || p.s[j] == '-') {
			j++
		}
		if j < len(p.s) && isDigitRune(p.s[j]) {
			i = p.digits(j)
		}
	}
	return i, ""
}

func (p *pyScanner) digits(i int) int {
	for i < len(p.s) && isDigitRune(p.s[i]) {
		i++
	}
	return i
}

func isDigitRune(r rune) bool { return '0' <= r && r <= '9' }

func (p *pyScanner) str(begin int) (int, string) {
	i := begin + 1
	for {
		if i >= len(p.s) {
			return i, p.errorAt("Unterminated string starting at", begin)
		}
		switch c := p.s[i]; {
		case c == '"':
			return i + 1, ""
		case c < 0x20:
			return i, p.errorAt("Invalid control character at", i)
		case c == '\\':
			if i+1 >= len(p.s) {
				return i, p.errorAt("Unterminated string starting at", begin)
			}
			switch p.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(p.s) || !allHex(p.s[i+2:i+6]) {
					return i, p.errorAt("Invalid \\uXXXX escape", i+1)
				}
				i += 6
			default:
				return i, p.errorAt("Invalid \\escape", i)
			}
		default:
			i++
		}
	}
}

func allHex(rs []rune) bool {
	for _, r := range rs {
		if r > 0x7f || !isHex(byte(r)) {
			return false
		}
	}
	return true
}

func (p *pyScanner) object(i, depth int) (int, string) {
	i = p.skipSpace(i + 1)
	if i < len(p.s) && p.s[i] == '}' {
		return i + 1, ""
	}
	for {
		if i >= len(p.s) || p.s[i] != '"' {
			return i, p.errorAt("Expecting property name enclosed in double quotes", i)
		}
		end, msg := p.str(i)
		if msg != "" {
			return end, msg
		}
		i = p.skipSpace(end)
		if i >= len(p.s) || p.s[i] != ':' {
			return i, p.errorAt("Expecting ':' delimiter", i)
		}
		i = p.skipSpace(i + 1)
		if i, msg = p.value(i, depth+1); msg != "" {
			return i, msg
		}
		i = p.skipSpace(i)
		switch {
		case i < len(p.s) && p.s[i] == '}':
			return i + 1, ""
		case i < len(p.s) && p.s[i] == ',':
			i = p.skipSpace(i + 1)
		default:
			return i, p.errorAt("Expecting ',' delimiter", i)
		}
	}
}

func (p *pyScanner) array(i, depth int) (int, string) {
	i = p.skipSpace(i + 1)
	if i < len(p.s) && p.s[i] == ']' {
		return i + 1, ""
	}
	for {
		var msg string
		if i, msg = p.value(i, depth+1); msg != "" {
			return i, msg
		}
		i = p.skipSpace(i)
		switch {
		case i < len(p.s) && p.s[i] == ']':
			return i + 1, ""
		case i < len(p.s) && p.s[i] == ',':
			i = p.skipSpace(i + 1)
		default:
			return i, p.errorAt("Expecting ',' delimiter", i)
		}
	}
}

// utf8Error words the first invalid byte as Python's utf-8 codec does.
func utf8Error(b []byte) string {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		reason := "invalid start byte"
		if c := b[i]; c >= 0xC2 && c <= 0xF4 {
			reason = "invalid continuation byte"
			if need := utf8Len(c); i+need > len(b) && continuationsOK(b[i+1:]) {
				reason = "unexpected end of data"
			}
		}
		return fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: %s", b[i], i, reason)
	}
	return ""
}

func utf8Len(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	}
	return 2
}

func continuationsOK(rest []byte) bool {
	for _, c := range rest {
		if c&0xC0 != 0x80 {
			return false
		}
	}
	return true
}
