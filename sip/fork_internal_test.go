package sip

import (
	"errors"
	"testing"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// When no fork answers, the caller gets the most telling failure: a 6xx
// over busy, busy over other 4xx, those over 5xx, and any response over a
// target that answered nothing (408).
func TestRingOutcomeMerge(t *testing.T) {
	failed := func(code int) *forkEvent {
		if code == 0 { // no response at all
			return &forkEvent{err: errors.New("transaction timed out"), done: true}
		}
		res := gosip.NewResponseFromRequest(gosip.NewRequest(gosip.INVITE, gosip.Uri{Host: "x"}), code, "", nil)
		return &forkEvent{err: &sipgo.ErrDialogResponse{Res: res}, done: true}
	}
	for _, tt := range []struct {
		codes []int
		want  int
	}{
		{nil, 480},
		{[]int{0}, 408},
		{[]int{0, 503}, 503},
		{[]int{503, 404}, 404},
		{[]int{404, 503}, 404},
		{[]int{480, 486, 503}, 486},
		{[]int{486, 480}, 486},
		{[]int{486, 603, 480}, 603},
		{[]int{408, 500}, 500},
	} {
		var o ringOutcome
		for _, c := range tt.codes {
			o.merge(failed(c))
		}
		o.settle()
		if o.code != tt.want {
			t.Errorf("failures %v: caller gets %d, want %d", tt.codes, o.code, tt.want)
		}
	}
}
