package api

import (
	"errors"
	"net/http"

	"github.com/teamline/teamline/directory"
)

// WithCellVerification verifies users' cell phones (R-ACC-3) with codes
// kept in codes and sent by send. Without it those endpoints answer 404
// "not enabled".
func WithCellVerification(codes directory.CellCodes, send directory.CodeSender) Option {
	return func(s *Server) { s.cellCodes, s.codeSender = codes, send }
}

// cellPhone: verifying a user's cell phone by a code sent to it by text.
// Agents verify their own, managers anyone's (the service decides).
//
//	POST /api/v1/users/{id}/cell_phone/verify   {"phone"} sends a code: 202
//	POST /api/v1/users/{id}/cell_phone/confirm  {"code"} checks it: 200 and the user
func (s *Server) cellPhone() {
	on := s.cellCodes != nil && s.codeSender != nil
	s.api("POST /api/v1/users/{id}/cell_phone/verify", needs(on, "cell phone verifications", s.verifyCellPhone))
	s.api("POST /api/v1/users/{id}/cell_phone/confirm", needs(on, "cell phone verifications", s.confirmCellPhone))
}

// verifyRequest is the body of .../verify: the phone to verify; empty
// means the user's cell phone as it is.
type verifyRequest struct {
	Phone string `json:"phone"`
}

// verifyAccepted is the answer of .../verify: where the code went, how
// long it is good for and how many tries it allows.
type verifyAccepted struct {
	Phone            string `json:"phone"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
	MaxAttempts      int    `json:"max_attempts"`
}

func (s *Server) verifyCellPhone(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req verifyRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	phone, err := s.svc.StartCellVerification(r.Context(), s.cellCodes, s.codeSender, id, req.Phone)
	if errors.Is(err, directory.ErrCodeNotSent) {
		// The client reads a 502; the operator needs the sender's error.
		s.log.Error("cell phone verification", "request_id", requestID(r.Context()), "user_id", id, "err", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, verifyAccepted{Phone: phone,
		ExpiresInSeconds: int64(directory.CellCodeTTL.Seconds()), MaxAttempts: directory.CellCodeMaxAttempts})
}

// confirmRequest is the body of .../confirm.
type confirmRequest struct {
	Code string `json:"code"`
}

func (s *Server) confirmCellPhone(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req confirmRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	u, err := s.svc.ConfirmCellVerification(r.Context(), s.cellCodes, id, req.Code)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(u.UpdatedAt))
	return writeJSON(w, http.StatusOK, u)
}
