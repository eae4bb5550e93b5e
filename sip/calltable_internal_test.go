package sip

import (
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// A call that leaves through a trunk and comes back to the gateway (a proxy
// that keeps Call-ID and tags) has one dialog ID for its two halves: the
// gateway's UAC ID of the leg out equals its UAS ID of the leg back in. The
// table tells them apart by the role the gateway has in each, so a BYE
// from either end reaches the right call.
func TestCallTableLoopedCallHalves(t *testing.T) {
	tab := newCallTable()
	out, in := &call{}, &call{}
	tab.add(out)
	tab.add(in)
	// The INVITE left with From tag X; the gateway answered it back with
	// To tag Y: both halves have the dialog ID (callid, Y, X).
	id := gosip.DialogIDMake("loop-1", "Y", "X")
	tab.setDialog(out, 1, id)
	tab.setDialog(in, 0, id)
	bye := func(fromTag, toTag string) *gosip.Request {
		req := gosip.NewRequest(gosip.BYE, gosip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", Host: "a"}, Params: gosip.NewParams()}
		from.Params.Add("tag", fromTag)
		to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", Host: "b"}, Params: gosip.NewParams()}
		to.Params.Add("tag", toTag)
		cid := gosip.CallIDHeader("loop-1")
		req.AppendHeader(from)
		req.AppendHeader(to)
		req.AppendHeader(&cid)
		return req
	}
	// The caller of the leg back in hangs up: From X, To Y.
	if c, side := tab.match(bye("X", "Y")); c != in || side != 0 {
		t.Errorf("BYE from the looped caller matched side %d of %p, want side 0 of the inbound half %p", side, c, in)
	}
	// The callee of the leg out hangs up: From Y, To X.
	if c, side := tab.match(bye("Y", "X")); c != out || side != 1 {
		t.Errorf("BYE from the callee matched side %d of %p, want side 1 of the outbound half %p", side, c, out)
	}
	tab.remove(in)
	if c, _ := tab.match(bye("X", "Y")); c != nil {
		t.Error("a removed call still matched")
	}
	if c, side := tab.match(bye("Y", "X")); c != out || side != 1 {
		t.Error("removing one half forgot the other")
	}
}
