package sipcorpus

import (
	"strings"
	"testing"
)

// TestRender checks the corpus format itself: the header block, CRLF line
// ends, escapes, continuation lines, repeats, placeholders and ${CL}.
func TestRender(t *testing.T) {
	file := "# expect: 400\n# reason: Bad CSeq\n# warning: yes\n# transport: udp\n# why: one\n# why: two\n" +
		"OPTIONS sip:${GW} SIP/2.0\\x20\n" +
		"Via: SIP/2.0/${TRANSPORT} ${LOCAL};branch=${BRANCH}\n" +
		"X-Long: a\\\nb\n" +
		"X-Rep: ${REPEAT:3:ab}\n" +
		"X-Esc: \\x00\\t\\\\\\\"q\n" +
		"Content-Length: ${CL}\n\nbody\n"
	c, err := Parse("invalid/x", file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Code() != 400 || c.Reason != "Bad CSeq" || !c.Warning || !c.UDP || c.TCP || c.Why != "one two" {
		t.Fatalf("parsed %+v", c)
	}
	b, err := c.Render(Vars{GW: "127.0.0.1:5060", Local: "[::1]:7000", Transport: "UDP", Branch: "z9hG4bK1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "OPTIONS sip:127.0.0.1:5060 SIP/2.0 \r\n" +
		"Via: SIP/2.0/UDP [::1]:7000;branch=z9hG4bK1\r\n" +
		"X-Long: ab\r\n" +
		"X-Rep: ababab\r\n" +
		"X-Esc: \x00\t\\\\\"q\r\n" +
		"Content-Length: 6\r\n\r\nbody\r\n"
	if string(b) != want {
		t.Fatalf("rendered\n%q\nwant\n%q", b, want)
	}

	for _, bad := range []string{
		"# expect: maybe\n# why: x\nOPTIONS",
		"# why: x\nOPTIONS",
		"# expect: 200\nOPTIONS",
		"# expect: 200\n# why: x\n# answer-at: alt\nOPTIONS",
		"# expect: 200\n# why: x\n# colour: blue\nOPTIONS",
		"# expect: 200\n# why: x\n# warning: Yes\nOPTIONS",
		"# expect: 200\n# why: x\n# source: carrier\nOPTIONS",
	} {
		if _, err := Parse("x", bad); err == nil {
			t.Errorf("Parse accepted %q", bad)
		}
	}
	if _, err := (&Case{Template: "${NOPE}"}).Render(Vars{}); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("an unknown placeholder: %v", err)
	}
}

// TestLoad reads the whole corpus: every file parses and renders.
func TestLoad(t *testing.T) {
	cases, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no corpus files")
	}
	for _, c := range cases {
		if _, err := c.Render(Vars{GW: "127.0.0.1:5060", Local: "127.0.0.2:6000", Alt: "127.0.0.2:6001", Transport: "UDP"}); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}
