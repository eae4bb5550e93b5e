package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
)

// callRequest is the body of POST /api/v1/calls: the number to call, the
// caller ID to show (one of the account's numbers the user may use; empty:
// the user's default, R-NUM-6) and whose phones ring first (empty: the
// caller's own; managers only may name another user).
type callRequest struct {
	To       string `json:"to"`
	CallerID string `json:"caller_id"`
	User     string `json:"user"`
}

// callPlaced is the answer: the call record of the call being placed
// (GET /api/v1/calls/{id} follows it).
type callPlaced struct {
	CallRecordID int64 `json:"call_record_id"`
}

// placeCall is click-to-call (R-OUT-1): the gateway rings the user's
// phones, then the number. It answers 202 once the call is under way; who
// may call where (R-OUT-3, R-ACC-2) is the dialer's decision, answered 403.
func (s *Server) placeCall(w http.ResponseWriter, r *http.Request) error {
	var req callRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	a := actor(r)
	user := strings.ToLower(strings.TrimSpace(req.User))
	if user == "" {
		user = a.Username
	}
	if user != a.Username && !a.Role.IsManager() {
		return fmt.Errorf("%w: agents place calls as themselves", directory.ErrForbidden)
	}
	v := &directory.ValidationError{Object: "call"}
	d := router.Dial{User: user}
	d.To = s.phoneField(v, "to", req.To, true)
	d.CallerID = s.phoneField(v, "caller_id", req.CallerID, false)
	if len(v.Fields) > 0 {
		return v
	}
	if user != a.Username {
		if _, err := s.svc.GetUserByUsername(r.Context(), user); err != nil {
			return err
		}
	}
	id, err := s.dialer.ClickToCall(systemContext(r.Context()), d)
	if err != nil {
		return err
	}
	s.log.Info("click-to-call placed", "request_id", requestID(r.Context()), "user", d.User, "by", a.Username, "call_record", id)
	w.Header().Set("Location", "/api/v1/calls/"+strconv.FormatInt(id, 10))
	return writeJSON(w, http.StatusAccepted, callPlaced{CallRecordID: id})
}

// phoneField normalises a phone number of a request body to E.164,
// recording a wrong or missing (required) one in v.
func (s *Server) phoneField(v *directory.ValidationError, field, raw string, required bool) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if required {
			v.Fields = append(v.Fields, directory.FieldError{Field: field, Detail: "is required"})
		}
		return ""
	}
	e, err := s.svc.NormalizePhone(raw)
	if err != nil {
		v.Fields = append(v.Fields, directory.FieldError{Field: field, Detail: detailOf(err, directory.ErrBadPhone)})
		return ""
	}
	return e
}
