package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// textCapture is a CodeSender that keeps the texts instead of sending them.
type textCapture struct {
	mu    sync.Mutex
	texts []sentText
	err   error
}

type sentText struct{ to, text string }

func (c *textCapture) SendCode(_ context.Context, to, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.texts = append(c.texts, sentText{to, text})
	return nil
}

var reCodeText = regexp.MustCompile(`^Your Teamline verification code is (\d{6})$`)

// lastCode is the code of the last text sent to phone.
func (c *textCapture) lastCode(t *testing.T, phone string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.texts) == 0 {
		t.Fatal("no text sent")
	}
	last := c.texts[len(c.texts)-1]
	m := reCodeText.FindStringSubmatch(last.text)
	if last.to != phone || m == nil {
		t.Fatalf("sent %q to %s, want the code to %s", last.text, last.to, phone)
	}
	return m[1]
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wrong returns a code of six digits that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestCellPhoneVerification(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
			sent := &textCapture{}
			e := newEnvWith(t, driver, func(st *store.Store, _ *directory.Service) []api.Option {
				return []api.Option{api.WithCellVerification(st, sent)}
			}, directory.WithClock(clock.now))
			alice := e.addUser("alice", directory.RoleAgent)
			bob := e.addUser("bob", directory.RoleAgent)
			aliceID, bobID := e.users["alice"], e.users["bob"]
			verify := func(token string, id int64, body any) *resp {
				return e.do(t, "POST", fmt.Sprintf("/api/v1/users/%d/cell_phone/verify", id), token, body)
			}
			confirm := func(token string, id int64, code string) *resp {
				return e.do(t, "POST", fmt.Sprintf("/api/v1/users/%d/cell_phone/confirm", id), token, map[string]string{"code": code})
			}

			// Alice asks for a code to her cell phone: 202, one text.
			var acc struct {
				Phone            string `json:"phone"`
				ExpiresInSeconds int64  `json:"expires_in_seconds"`
				MaxAttempts      int    `json:"max_attempts"`
			}
			verify(alice, aliceID, map[string]string{"phone": "(512) 555-0181"}).want(t, http.StatusAccepted, &acc)
			if acc.Phone != "+15125550181" || acc.ExpiresInSeconds != 600 || acc.MaxAttempts != 5 {
				t.Fatalf("accepted %+v", acc)
			}
			code := sent.lastCode(t, "+15125550181")

			// Asking again at once is held back, with Retry-After.
			clock.add(10 * time.Second)
			r := verify(alice, aliceID, map[string]string{"phone": "+15125550181"})
			r.wantProblem(t, http.StatusTooManyRequests)
			if ra := r.header.Get("Retry-After"); ra != "20" {
				t.Fatalf("Retry-After %q, want 20", ra)
			}
			if len(sent.texts) != 1 {
				t.Fatalf("%d texts sent", len(sent.texts))
			}

			// Agents verify only themselves; codes are digits.
			verify(alice, bobID, map[string]string{"phone": "+15125550182"}).wantProblem(t, http.StatusForbidden)
			confirm(bob, aliceID, code).wantProblem(t, http.StatusForbidden)
			confirm(alice, aliceID, "12345").wantProblem(t, http.StatusUnprocessableEntity, "code")
			verify(alice, aliceID, map[string]string{"phone": "12"}).wantProblem(t, http.StatusUnprocessableEntity, "phone")
			verify(alice, aliceID, map[string]string{}).wantProblem(t, http.StatusUnprocessableEntity, "phone") // no cell phone yet

			// A wrong code says how many tries are left.
			var p struct {
				problem
				AttemptsLeft *int `json:"attempts_left"`
			}
			confirm(alice, aliceID, wrong(code)).want(t, http.StatusUnprocessableEntity, &p)
			if p.AttemptsLeft == nil || *p.AttemptsLeft != 4 || len(p.Errors) != 1 || p.Errors[0].Field != "code" {
				t.Fatalf("wrong code: %+v", p)
			}
			u, _ := e.svc.GetUser(context.Background(), aliceID)
			if u.CellVerified || u.CellPhone != "" {
				t.Fatalf("a wrong code changed the user: %+v", u)
			}

			// The right code verifies the phone it was sent to.
			var got directory.User
			r = confirm(alice, aliceID, code[:3]+" "+code[3:]).want(t, http.StatusOK, &got)
			if !got.CellVerified || got.CellPhone != "+15125550181" || r.header.Get("ETag") == "" || !got.UpdatedAt.Equal(clock.now()) {
				t.Fatalf("confirmed %s", r.body)
			}
			// The code is used up.
			confirm(alice, aliceID, code).wantProblem(t, http.StatusConflict)

			// Five wrong codes void the code: the right one no longer works.
			clock.add(time.Minute)
			verify(bob, bobID, map[string]string{"phone": "+1 512 555 0182"}).want(t, http.StatusAccepted, nil)
			bobCode := sent.lastCode(t, "+15125550182")
			for left := 4; left >= 0; left-- {
				confirm(bob, bobID, wrong(bobCode)).want(t, http.StatusUnprocessableEntity, &p)
				if *p.AttemptsLeft != left {
					t.Fatalf("attempts_left %d, want %d", *p.AttemptsLeft, left)
				}
			}
			confirm(bob, bobID, bobCode).wantProblem(t, http.StatusConflict)

			// A new code after 30 s; it expires after 10 minutes. A
			// manager may ask and confirm for an agent.
			clock.add(30 * time.Second)
			verify(e.boss, bobID, map[string]string{"phone": "+15125550182"}).want(t, http.StatusAccepted, nil)
			bobCode = sent.lastCode(t, "+15125550182")
			clock.add(10 * time.Minute)
			if p := confirm(e.boss, bobID, bobCode).wantProblem(t, http.StatusConflict); !strings.Contains(p.Detail, "expired") {
				t.Fatalf("expired code: %+v", p)
			}
			verify(e.boss, bobID, map[string]string{"phone": "+15125550182"}).want(t, http.StatusAccepted, nil)
			confirm(e.boss, bobID, sent.lastCode(t, "+15125550182")).want(t, http.StatusOK, &got)
			if !got.CellVerified || got.Username != "bob" {
				t.Fatalf("bob %+v", got)
			}

			// Changing the cell phone unverifies it; verifying again with
			// no phone given uses the one stored.
			e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", aliceID), alice, map[string]string{"cell_phone": "+15125550183"}).
				want(t, http.StatusOK, &got)
			if got.CellVerified {
				t.Fatal("a new cell phone stayed verified")
			}
			clock.add(time.Minute)
			verify(alice, aliceID, map[string]string{}).want(t, http.StatusAccepted, &acc)
			if acc.Phone != "+15125550183" {
				t.Fatalf("accepted %+v", acc)
			}
			confirm(alice, aliceID, sent.lastCode(t, "+15125550183")).want(t, http.StatusOK, &got)
			if !got.CellVerified || got.CellPhone != "+15125550183" {
				t.Fatalf("alice %+v", got)
			}

			// A text that cannot be sent is a 502, and may be asked for again at once.
			sent.err = errors.New("smsc says no")
			clock.add(time.Minute)
			verify(alice, aliceID, map[string]string{"phone": "+15125550184"}).wantProblem(t, http.StatusBadGateway)
			sent.err = nil
			verify(alice, aliceID, map[string]string{"phone": "+15125550184"}).want(t, http.StatusAccepted, nil)

			// No code ever reaches the log.
			logs := e.logs.String()
			for _, s := range sent.texts {
				c := reCodeText.FindStringSubmatch(s.text)
				if strings.Contains(logs, `"`+c[1]+`"`) || strings.Contains(logs, "code is") {
					t.Fatalf("code %s logged:\n%s", c[1], logs)
				}
			}
			if !strings.Contains(logs, "smsc says no") {
				t.Fatal("the failed text is not logged")
			}
		})
	}
}

func TestCellPhoneVerificationNotEnabled(t *testing.T) {
	e := newEnv(t, "sqlite")
	for step, body := range map[string]map[string]string{"verify": {"phone": "+15125550181"}, "confirm": {"code": "123456"}} {
		path := fmt.Sprintf("/api/v1/users/%d/cell_phone/%s", e.users["boss"], step)
		if p := e.do(t, "POST", path, e.boss, body).wantProblem(t, http.StatusNotFound); !strings.HasSuffix(p.Type, "/not-enabled") {
			t.Fatalf("%s: problem %+v", step, p)
		}
	}
}
