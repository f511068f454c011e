package rest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Python 3.11's json.loads messages (strict constants, as DRF parses), the
// words legacy clients saw after "JSON parse error - ".
func TestPyJSONError(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1}`, ""},
		{`[1, "x", {"b": [true, false, null, -1.5e3]}]`, ""},
		{"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
		{`{"a":`, "Expecting value: line 1 column 6 (char 5)"},
		{`[1,`, "Expecting value: line 1 column 4 (char 3)"},
		{`{"a" 1}`, "Expecting ':' delimiter: line 1 column 6 (char 5)"},
		{`{"a":1,}`, "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
		{`[1 2]`, "Expecting ',' delimiter: line 1 column 4 (char 3)"},
		{`"abc`, "Unterminated string starting at: line 1 column 1 (char 0)"},
		{`"a\x"`, "Invalid \\escape: line 1 column 3 (char 2)"},
		{`"\u12"`, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
		{`{"a":1} x`, "Extra data: line 1 column 9 (char 8)"},
		{`-`, "Expecting value: line 1 column 1 (char 0)"},
		{`01`, "Extra data: line 1 column 2 (char 1)"},
		{`1.`, "Extra data: line 1 column 2 (char 1)"},
		{`tru`, "Expecting value: line 1 column 1 (char 0)"},
		{"\n\n  {\"a\":\n x}", "Expecting value: line 4 column 2 (char 11)"},
		{`{"é": ]`, "Expecting value: line 1 column 7 (char 6)"},
		{"\"\t\"", "Invalid control character at: line 1 column 2 (char 1)"},
		{`Infinity`, "Out of range float values are not JSON compliant: 'Infinity'"},
		{`-Infinity`, "Out of range float values are not JSON compliant: '-Infinity'"},
		{`[]]`, "Extra data: line 1 column 3 (char 2)"},
		{`{"a":[1,{"b":}]}`, "Expecting value: line 1 column 14 (char 13)"},
		{"\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
		{"\ufeff{}", "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"},
	}
	for _, c := range cases {
		if got := pyJSONError([]byte(c.in)); got != c.want {
			t.Errorf("pyJSONError(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// str() of what json.loads makes of a number, as CharField takes it.
func TestPyNumberString(t *testing.T) {
	cases := map[string]string{
		"12": "12", "-0": "0", "1.5": "1.5", "1e16": "1e+16", "1e15": "1000000000000000.0",
		"0.0001": "0.0001", "0.00001": "1e-05", "1.5e300": "1.5e+300", "123456789.123": "123456789.123",
		"-0.0": "-0.0", "2.5e-7": "2.5e-07", "1e22": "1e+22", "100.0": "100.0", "1e400": "inf",
	}
	for in, want := range cases {
		if got := pyNumberString(json.Number(in)); got != want {
			t.Errorf("pyNumberString(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestDRFTime(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip(err)
	}
	at := time.Date(2025, 11, 6, 7, 37, 34, 364302000, time.UTC)
	cases := []struct {
		t    time.Time
		zone *time.Location
		want string
	}{
		{at, nil, "2025-11-06T07:37:34.364302Z"},
		{at, moscow, "2025-11-06T10:37:34.364302+03:00"},
		{at.Truncate(time.Second), nil, "2025-11-06T07:37:34Z"},
		{at.Truncate(time.Millisecond), nil, "2025-11-06T07:37:34.364000Z"},
	}
	for _, c := range cases {
		if got := drfTime(c.t, c.zone); got != c.want {
			t.Errorf("drfTime(%v, %v) = %q, want %q", c.t, c.zone, got, c.want)
		}
	}
}

// Django's QueryDict and DRF's link building.
func TestQueryParams(t *testing.T) {
	q := parseQuery("b=2&a=1&zz=%20x+y&a=3&bad=%zz&blank&=v&u=%C3%A9%FF")
	if v, _ := q.get("a"); v != "3" {
		t.Errorf("a = %q, want the last value", v)
	}
	if v, _ := q.get("bad"); v != "%zz" {
		t.Errorf("bad = %q", v)
	}
	if v, ok := q.get("blank"); !ok || v != "" {
		t.Errorf("blank = %q, %v", v, ok)
	}
	if v, _ := q.get("u"); v != "é\uFFFD" {
		t.Errorf("u = %q", v)
	}
	got := q.with("limit", "10").without("bad").encode()
	want := "=v&a=1&a=3&b=2&blank=&limit=10&u=%C3%A9%EF%BF%BD&zz=+x+y"
	if got != want {
		t.Errorf("encode = %q, want %q", got, want)
	}
}

// Python's int() on limit and offset.
func TestPyInt(t *testing.T) {
	cases := map[string]int{" 5 ": 5, "+7": 7, "-1": -1, "1_000": 1000, "007": 7}
	for in, want := range cases {
		if got, ok := pyInt(in); !ok || got != want {
			t.Errorf("pyInt(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "abc", "2.5", "1__0", "_1", "1_", "0x10", "99999999999999999999999"} {
		if _, ok := pyInt(in); ok {
			t.Errorf("pyInt(%q) accepted", in)
		}
	}
}

// Python's int() of any size it reads, for offsets: 4,300 digits and no
// more, underscores and signs as int() takes them.
func TestPyBigInt(t *testing.T) {
	most := strings.Repeat("9", pyMaxDigits)
	for in, want := range map[string]string{
		"99999999999999999999999": "99999999999999999999999", " -1_000_000_000_000_000_000_000 ": "-1000000000000000000000",
		most: most, "+" + most: most, "0" + strings.Repeat("_0", pyMaxDigits-1): "0",
	} {
		if got, ok := pyBigInt(in); !ok || got.String() != want {
			t.Errorf("pyBigInt(%.30q…) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-", "1e5", "1__0", "9" + most, "0x10", "٣"} {
		if got, ok := pyBigInt(in); ok {
			t.Errorf("pyBigInt(%.30q…) accepted as %v", in, got)
		}
	}
}
