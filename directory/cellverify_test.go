package directory_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/store/storetest"
)

// captured is a CodeSender that keeps the last text.
type captured struct {
	mu       sync.Mutex
	to, text string
}

func (c *captured) SendCode(_ context.Context, to, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.to, c.text = to, text
	return nil
}

var reCodeText = regexp.MustCompile(`^Your Teamline verification code is (\d{6})$`)

func (c *captured) code(t *testing.T) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := reCodeText.FindStringSubmatch(c.text)
	if m == nil {
		t.Fatalf("text %q", c.text)
	}
	return m[1]
}

// The store keeps a hash over username, phone and code, never the code;
// the primary manager's cell phone is the primary manager's business.
func TestCellVerificationStoresHashOnly(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			st := storetest.Open(t, driver)
			phones, _ := directory.NewPhones("US")
			logs := &testlog.Buffer{}
			svc := directory.NewService(st, phones, directory.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			ctx := context.Background() // the operator
			maria, err := svc.CreateUser(ctx, directory.User{Username: "maria", Name: "Maria", Role: directory.RolePrimaryManager})
			if err != nil {
				t.Fatal(err)
			}
			ken, err := svc.CreateUser(ctx, directory.User{Username: "ken", Name: "Ken", Role: directory.RoleManager})
			if err != nil {
				t.Fatal(err)
			}
			send := &captured{}
			if to, err := svc.StartCellVerification(ctx, st, send, maria.ID, "512-555-0181"); err != nil || to != "+15125550181" || send.to != to {
				t.Fatalf("sent to %q (said %q), %v", send.to, to, err)
			}
			code := send.code(t)
			c, err := st.GetCellCode(ctx, "maria")
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256([]byte("maria:+15125550181:" + code))
			if string(c.Hash) != string(want[:]) || c.Phone != "+15125550181" || c.Attempts != 0 ||
				c.ExpiresAt.Sub(c.CreatedAt) != directory.CellCodeTTL {
				t.Fatalf("stored %+v", c)
			}
			if strings.Contains(logs.String(), code) {
				t.Fatalf("code logged: %s", logs)
			}

			asKen := directory.WithActor(ctx, directory.Actor{UserID: ken.ID, Username: "ken", Role: directory.RoleManager})
			if _, err := svc.ConfirmCellVerification(asKen, st, maria.ID, code); !errors.Is(err, directory.ErrForbidden) {
				t.Fatalf("a manager confirming the primary manager's phone: %v", err)
			}
			asMaria := directory.WithActor(ctx, directory.Actor{UserID: maria.ID, Username: "maria", Role: directory.RolePrimaryManager})
			u, err := svc.ConfirmCellVerification(asMaria, st, maria.ID, code)
			if err != nil || !u.CellVerified || u.CellPhone != "+15125550181" {
				t.Fatalf("confirmed %+v, %v", u, err)
			}
			if _, err := st.GetCellCode(ctx, "maria"); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("the used code is kept: %v", err)
			}
		})
	}
}

// Wrong codes typed at once cannot try more than CellCodeMaxAttempts: each
// counts before it is compared.
func TestCellVerificationConcurrentGuesses(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	phones, _ := directory.NewPhones("US")
	svc := directory.NewService(st, phones)
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, directory.User{Username: "alice", Name: "Alice", Role: directory.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	send := &captured{}
	if _, err := svc.StartCellVerification(ctx, st, send, u.ID, "+15125550181"); err != nil {
		t.Fatal(err)
	}
	guess := "000000"
	if send.code(t) == guess {
		guess = "000001"
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong, refused := 0, 0
	for range 20 {
		wg.Go(func() {
			_, err := svc.ConfirmCellVerification(ctx, st, u.ID, guess)
			var we *directory.WrongCodeError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.As(err, &we):
				wrong++
			case errors.Is(err, directory.ErrConflict), errors.Is(err, directory.ErrUnavailable):
				refused++
			default:
				t.Errorf("guess: %v", err)
			}
		})
	}
	wg.Wait()
	if wrong > directory.CellCodeMaxAttempts || wrong+refused != 20 {
		t.Fatalf("%d guesses compared, %d refused; at most %d may be compared", wrong, refused, directory.CellCodeMaxAttempts)
	}
	if _, err := svc.ConfirmCellVerification(ctx, st, u.ID, send.code(t)); !errors.Is(err, directory.ErrConflict) && wrong == directory.CellCodeMaxAttempts {
		t.Fatalf("the right code after %d wrong ones: %v", wrong, err)
	}
}

// Codes are CellCodeDigits random digits: fifty in a row hardly repeat.
func TestCellCodesAreRandom(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	phones, _ := directory.NewPhones("US")
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	svc := directory.NewService(st, phones, directory.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, directory.User{Username: "alice", Name: "Alice", Role: directory.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	send := &captured{}
	seen := map[string]bool{}
	for range 50 {
		now = now.Add(directory.CellCodeResendAfter)
		if _, err := svc.StartCellVerification(ctx, st, send, u.ID, "+15125550181"); err != nil {
			t.Fatal(err)
		}
		seen[send.code(t)] = true
	}
	// Two or more repeats among 50 draws from 10^6 codes: p < 1e-6.
	if len(seen) < 49 {
		t.Fatalf("%d different codes in 50: %v", len(seen), seen)
	}
}

func TestWebhookCodeSender(t *testing.T) {
	type got struct {
		method, ct, auth string
		body             map[string]string
	}
	var mu sync.Mutex
	var last got
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]string
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		last = got{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body}
		code := status
		mu.Unlock()
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/send", http.StatusFound)
			return
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	ctx := context.Background()

	s := directory.NewWebhookCodeSender(srv.URL+"/send", "tok-123")
	if err := s.SendCode(ctx, "+15125550181", "Your Teamline verification code is 123456"); err != nil {
		t.Fatal(err)
	}
	if last.method != "POST" || last.ct != "application/json" || last.auth != "Bearer tok-123" ||
		last.body["to"] != "+15125550181" || last.body["text"] != "Your Teamline verification code is 123456" || len(last.body) != 2 {
		t.Fatalf("webhook got %+v", last)
	}

	// No token, no Authorization.
	if err := directory.NewWebhookCodeSender(srv.URL+"/send", "").SendCode(ctx, "+15125550181", "x"); err != nil || last.auth != "" {
		t.Fatalf("without token: %v, auth %q", err, last.auth)
	}

	// Any answer but 2xx fails, and the error never carries the text.
	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	err := s.SendCode(ctx, "+15125550181", "Your Teamline verification code is 654321")
	if err == nil || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), "654321") {
		t.Fatalf("on 500: %v", err)
	}
	// A redirect is not followed (it would turn the POST into a GET).
	if err := directory.NewWebhookCodeSender(srv.URL+"/moved", "").SendCode(ctx, "+1", "x"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("on redirect: %v", err)
	}
	// Nobody there.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if err := directory.NewWebhookCodeSender(dead.URL, "").SendCode(ctx, "+1", "x"); err == nil {
		t.Fatal("a dead webhook did not fail")
	}
}

func TestLogCodeSender(t *testing.T) {
	for _, logCodes := range []bool{false, true} {
		var logs testlog.Buffer
		s := directory.LogCodeSender{Log: slog.New(slog.NewTextHandler(&logs, nil)), LogCodes: logCodes}
		if err := s.SendCode(context.Background(), "+15125550181", "Your Teamline verification code is 123456"); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "+15125550181") || strings.Contains(out, "123456") != logCodes {
			t.Fatalf("log_codes %v: %s", logCodes, out)
		}
	}
}
