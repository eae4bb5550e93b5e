package directory

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// Cell phone verification (R-ACC-3): calls are forwarded to an agent's cell
// phone only once the agent has typed back a code sent to it by text.
const (
	// CellCodeDigits is the length of a verification code.
	CellCodeDigits = 6
	// CellCodeTTL is how long a code may be used.
	CellCodeTTL = 10 * time.Minute
	// CellCodeMaxAttempts is how many codes may be typed for one code sent;
	// past it the code is void and a new one must be asked for.
	CellCodeMaxAttempts = 5
	// CellCodeResendAfter is how long a user waits between two codes.
	CellCodeResendAfter = 30 * time.Second
)

// CodeSender sends a verification text. The messaging path (SIP MESSAGE
// through a trunk) will implement it; until then the config picks
// LogCodeSender or WebhookCodeSender.
type CodeSender interface {
	SendCode(ctx context.Context, to, text string) error
}

// ErrCodeNotSent wraps the sender's error when the text with the code could
// not be sent. The code is then forgotten, so asking again is not held back
// by CellCodeResendAfter.
var ErrCodeNotSent = errors.New("verification text not sent")

// RetryAfterError: the request came too soon after the last one; try again
// after After.
type RetryAfterError struct {
	After  time.Duration
	Reason string
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%s; try again in %d s", e.Reason, e.Seconds())
}

// Seconds is After in whole seconds, rounded up (at least 1), as
// Retry-After wants it.
func (e *RetryAfterError) Seconds() int64 {
	return max(1, int64((e.After+time.Second-1)/time.Second))
}

// WrongCodeError: the code typed is not the code sent. AttemptsLeft says
// how many more may be tried before the code is void.
type WrongCodeError struct {
	AttemptsLeft int
}

func (e *WrongCodeError) Error() string {
	if e.AttemptsLeft <= 0 {
		return "wrong verification code; no attempts left: ask for a new code"
	}
	return fmt.Sprintf("wrong verification code; %d attempts left", e.AttemptsLeft)
}

// StartCellVerification sends a code to phone by text for the user's cell
// phone (R-ACC-3) and returns the E.164 number it went to. phone ""
// verifies the cell phone the user has. Agents verify only their own cell
// phone, managers anyone's (the primary manager's only the primary
// manager). A code may be asked for once per CellCodeResendAfter per user
// (*RetryAfterError); a new code replaces the pending one. The code itself
// is kept only as a hash, and never logged.
func (s *Service) StartCellVerification(ctx context.Context, codes CellCodes, send CodeSender, userID int64, phone string) (string, error) {
	u, err := s.cellUser(ctx, userID)
	if err != nil {
		return "", err
	}
	phone = strings.TrimSpace(phone)
	if phone == "" {
		phone = u.CellPhone
	}
	v := &ValidationError{Object: "cell phone"}
	if phone == "" {
		v.add("phone", "is required: the user has no cell phone yet")
	} else {
		v.phone("phone", s.phones, &phone)
	}
	if err := v.err(); err != nil {
		return "", err
	}
	now := s.stamp()
	pending, err := codes.GetCellCode(ctx, u.Username)
	switch {
	case err == nil:
		if next := pending.CreatedAt.Add(CellCodeResendAfter); now.Before(next) {
			return "", &RetryAfterError{After: next.Sub(now), Reason: "a verification code was sent moments ago"}
		}
	case !isNotFound(err):
		return "", err
	}
	code, err := newCellCode()
	if err != nil {
		return "", err
	}
	c := CellCode{User: u.Username, Phone: phone, Hash: cellCodeHash(u.Username, phone, code),
		ExpiresAt: now.Add(CellCodeTTL), CreatedAt: now}
	if err := codes.PutCellCode(ctx, c); err != nil {
		return "", err
	}
	if err := send.SendCode(ctx, phone, "Your Teamline verification code is "+code); err != nil {
		if derr := codes.DeleteCellCode(context.WithoutCancel(ctx), u.Username); derr != nil {
			s.log.Warn("forgetting an unsent verification code", "user", u.Username, "err", derr)
		}
		return "", fmt.Errorf("%w to %s: %w", ErrCodeNotSent, phone, err)
	}
	s.log.Info("cell phone verification code sent", "user", u.Username, "phone", phone)
	return phone, nil
}

// ConfirmCellVerification checks the code the user typed. The right code,
// within CellCodeTTL and CellCodeMaxAttempts, makes the phone it was sent to
// the user's verified cell phone and returns the user; a wrong one is a
// *WrongCodeError. Every code typed counts against CellCodeMaxAttempts
// before it is compared, so requests racing each other cannot try more.
func (s *Service) ConfirmCellVerification(ctx context.Context, codes CellCodes, userID int64, code string) (User, error) {
	u, err := s.cellUser(ctx, userID)
	if err != nil {
		return User{}, err
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1 // "123 456" as the phone shows it
		}
		return r
	}, code)
	if len(code) != CellCodeDigits || strings.Trim(code, "0123456789") != "" {
		return User{}, &ValidationError{Object: "cell phone code", Fields: []FieldError{{Field: "code",
			Detail: fmt.Sprintf("must be the %d digits of the text", CellCodeDigits)}}}
	}
	pending, err := codes.GetCellCode(ctx, u.Username)
	if isNotFound(err) {
		return User{}, conflictf("no verification code is waiting for %s; ask for one", u.Username)
	}
	if err != nil {
		return User{}, err
	}
	if !s.stamp().Before(pending.ExpiresAt) {
		if err := codes.DeleteCellCode(ctx, u.Username); err != nil {
			return User{}, err
		}
		return User{}, conflictf("the verification code has expired; ask for a new one")
	}
	if pending.Attempts >= CellCodeMaxAttempts {
		return User{}, conflictf("too many wrong codes; ask for a new one")
	}
	n, err := codes.CountCellCodeAttempt(ctx, u.Username)
	if err != nil {
		if isNotFound(err) { // confirmed or replaced meanwhile
			return User{}, conflictf("no verification code is waiting for %s; ask for one", u.Username)
		}
		return User{}, err
	}
	if n > CellCodeMaxAttempts {
		return User{}, conflictf("too many wrong codes; ask for a new one")
	}
	if subtle.ConstantTimeCompare(pending.Hash, cellCodeHash(u.Username, pending.Phone, code)) != 1 {
		s.log.Info("wrong cell phone verification code", "user", u.Username, "attempt", n)
		return User{}, &WrongCodeError{AttemptsLeft: CellCodeMaxAttempts - n}
	}
	err = s.tx(ctx, func(q Queries) error {
		cur, err := q.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		cur.CellPhone, cur.CellVerified = pending.Phone, true
		cur.UpdatedAt = s.stamp()
		return q.UpdateUser(ctx, &cur)
	})
	if err != nil {
		return User{}, err
	}
	if err := codes.DeleteCellCode(ctx, u.Username); err != nil {
		// The phone is verified; the code lapses by itself.
		s.log.Warn("deleting a used verification code", "user", u.Username, "err", err)
	}
	s.log.Info("cell phone verified", "user", u.Username, "phone", pending.Phone)
	return s.q(ctx).GetUser(ctx, u.ID)
}

// cellUser loads the user whose cell phone is verified, if the actor may:
// agents only themselves, managers anyone, the primary manager's cell
// phone only the primary manager (as for UpdateUser). Another user hidden
// from an agent is forbidden, not missing: agents know the team.
func (s *Service) cellUser(ctx context.Context, userID int64) (User, error) {
	a, isActor := ActorFrom(ctx)
	if isActor && !a.Role.IsManager() && a.UserID != userID {
		return User{}, forbiddenf("agents verify only their own cell phone")
	}
	u, err := s.q(ctx).GetUser(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if isActor && u.Role == RolePrimaryManager && a.Role != RolePrimaryManager {
		return User{}, forbiddenf("only the primary manager may change the primary manager")
	}
	return u, nil
}

// newCellCode draws CellCodeDigits decimal digits from crypto/rand.
func newCellCode() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(CellCodeDigits), nil))
	if err != nil {
		return "", fmt.Errorf("verification code: %w", err)
	}
	return fmt.Sprintf("%0*d", CellCodeDigits, n.Int64()), nil
}

// cellCodeHash is what is stored of a code: SHA-256 over the username, the
// phone and the code, so a stored hash is good for that user and phone only.
func cellCodeHash(username, phone, code string) []byte {
	h := sha256.Sum256([]byte(username + ":" + phone + ":" + code))
	return h[:]
}

// LogCodeSender sends nothing: it logs at WARN that a code was to be sent
// to a number, and the text with the code only when LogCodes is set (a lab
// without a way to send texts). It is the default until texts can be sent.
type LogCodeSender struct {
	Log      *slog.Logger
	LogCodes bool
}

// SendCode logs the text instead of sending it.
func (l LogCodeSender) SendCode(ctx context.Context, to, text string) error {
	if l.LogCodes {
		l.Log.WarnContext(ctx, "verification text not sent, logged (verification.log_codes is on)", "to", to, "text", text)
		return nil
	}
	l.Log.WarnContext(ctx, "verification code for this number only logged, not sent: set verification.sender to webhook", "to", to)
	return nil
}

// WebhookTimeout bounds one webhook request.
const WebhookTimeout = 10 * time.Second

// WebhookCodeSender posts each text as JSON {"to": E.164, "text": ...} to a
// URL (an SMS provider's or one's own relay), with "Authorization: Bearer
// TOKEN" when a token is set. Any answer but 2xx is an error; redirects are
// not followed (they would turn the POST into a GET).
type WebhookCodeSender struct {
	url    string
	token  string
	client *http.Client
}

// NewWebhookCodeSender returns a sender posting to url.
func NewWebhookCodeSender(url, token string) *WebhookCodeSender {
	return &WebhookCodeSender{url: url, token: token, client: &http.Client{
		Timeout:       WebhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// SendCode posts the text.
func (w *WebhookCodeSender) SendCode(ctx context.Context, to, text string) error {
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{to, text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Teamline")
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error names the URL and the cause, never the body.
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}
