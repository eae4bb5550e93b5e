package api_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

// FuzzCreateLead posts arbitrary bytes as a new lead: whatever arrives, the
// answer is a client error or a success, never a 500 or a panic.
func FuzzCreateLead(f *testing.F) {
	e := newEnv(f, storetest.Drivers()[0])
	e.addUser("alice", directory.RoleAgent)
	for _, seed := range []string{
		`{"phones": ["+13125550100"], "name": "Pat", "agents": {"buyer": "alice"}}`,
		`{"phones": ["+13125550101", "+13125550101"]}`,
		`{"phones": ["(312) 555-0102"], "tags": ["a", "a", " "], "price_min": 5, "price_max": 1}`,
		`{"phones": ["+13125550103"], "agents": {"nope": "nobody", "buyer": "\u0000"}}`,
		`{"phones": ["+13125550104"], "name": "\u0001", "type": "renter", "email": "x"}`,
		`{"phones": ["+13125550105"], "created_at": "2020-01-01T00:00:00Z", "id": 5}`,
		`{"phones": ["😀"], "name": "😀"}`,
		`{"phones": null, "agents": null}`,
		`{"phones": [1]}`, `{"PHONES": ["+13125550106"]}`, `{"phones": ["+13125550107"]`,
		`[]`, `null`, `""`, `{}`, ``, "\xff\xfe", `{"a":`, `{"price_min": 1e309}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/leads", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.boss)
		r := e.send(t, req)
		if r.status >= 500 || (r.status != http.StatusCreated && r.status < 400) {
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
	})
}
