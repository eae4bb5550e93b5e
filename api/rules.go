package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

// rules: /api/v1/rules, listed in evaluation order (R-RULE-1). "position"
// is writable: 0 or absent on POST appends before the catch-all, n puts the
// rule at position n, and a changed position on PATCH moves the rule.
func (s *Server) rules() {
	res := resource[directory.Rule]{
		s:        s,
		path:     "/api/v1/rules",
		readOnly: readOnly,
		id:       func(r directory.Rule) int64 { return r.ID },
		version:  func(x directory.Rule) time.Time { return x.UpdatedAt },
		get:      s.svc.GetRule,
		create:   s.svc.CreateRule,
		update:   s.svc.UpdateRule,
		delete:   s.svc.DeleteRule,
	}
	res.register(s.listRules)
}

// listRules pages the ordered rules. Positions are renumbered when a rule
// is added, moved or deleted, so a page ends at a rule, not at a position:
// the cursor names the last rule of the page and its position, and the
// next page starts after that rule wherever it is now, or, when it was
// deleted meanwhile, at the position it had.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitOf(r)
	if err != nil {
		return err
	}
	var afterID, afterPos int64
	if v := r.URL.Query().Get("after"); v != "" {
		var ok bool
		if afterID, afterPos, ok = decodeRuleCursor(v); !ok {
			return badCursor()
		}
	}
	all, err := s.svc.ListRules(r.Context())
	if err != nil {
		return err
	}
	start := 0
	if afterID > 0 {
		start = rulesAfter(all, afterID, afterPos)
	}
	return writePageCursor(w, r, all[start:min(len(all), start+limit+1)], limit, encodeRuleCursor)
}

// rulesAfter is the index of the first rule after the cursor's rule id, or,
// when that rule is gone, of the first rule at or past its position pos
// (the rules after it moved up by one).
func rulesAfter(all []directory.Rule, id, pos int64) int {
	for i, rule := range all {
		if rule.ID == id {
			return i + 1
		}
	}
	for i, rule := range all {
		if int64(rule.Position) >= pos {
			return i
		}
	}
	return len(all)
}

// encodeRuleCursor is "<id>.<position>" of a rule, base64url-encoded.
func encodeRuleCursor(r directory.Rule) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", r.ID, r.Position))
}

func decodeRuleCursor(c string) (id, pos int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	ids, poss, found := strings.Cut(string(b), ".")
	id, err1 := strconv.ParseInt(ids, 10, 64)
	pos, err2 := strconv.ParseInt(poss, 10, 64)
	return id, pos, found && err1 == nil && err2 == nil && id > 0 && pos > 0
}
