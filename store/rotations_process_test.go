package store_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// The variables that make TestRotationGatewayProcess a gateway process of
// TestRotationTwoProcesses.
const (
	envChildDriver = "TEAMLINE_TEST_ROTATION_DRIVER"
	envChildDSN    = "TEAMLINE_TEST_ROTATION_DSN"
	envChildRule   = "TEAMLINE_TEST_ROTATION_RULE"
	envChildN      = "TEAMLINE_TEST_ROTATION_N"
)

// Two gateway processes on one database take turns of the same rule's
// rotation at the same time: together they get every position once. Each
// process is this test binary again, running TestRotationGatewayProcess.
// The parent creates the database and its schema; the children only open
// it. On MySQL this needs TEST_MYSQL_DSN; SQLite shares a file.
func TestRotationTwoProcesses(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			const children = 2
			each := 500
			if d == store.DriverSQLite {
				// Processes meet at SQLite's lock, which does not queue: the
				// one that waits polls, and mostly waits until the other is
				// done. Fewer turns keep that wait well inside the busy
				// timeout under -race.
				each = 200
			}
			dsn := storetest.DSN(t, d)
			s := storetest.OpenDSN(t, d, dsn)
			get(s.Migrate(ctx))(t)
			user(t, s, "alice")
			user(t, s, "bob")
			r := rule(t, s, "r")

			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			type child struct {
				cmd   *exec.Cmd
				stdin io.WriteCloser
				out   *bufio.Scanner
			}
			var kids []child
			for range children {
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRotationGatewayProcess$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), envChildDriver+"="+d, envChildDSN+"="+dsn,
					envChildRule+"="+strconv.FormatInt(r.ID, 10), envChildN+"="+strconv.Itoa(each))
				cmd.Stderr = os.Stderr
				stdin, err := cmd.StdinPipe()
				must(t, err)
				stdout, err := cmd.StdoutPipe()
				must(t, err)
				must(t, cmd.Start())
				kids = append(kids, child{cmd, stdin, bufio.NewScanner(stdout)})
			}
			// Both have opened the database before either takes a turn.
			for i, k := range kids {
				if line := readUntil(k.out, "ready"); line != "ready" {
					t.Fatalf("process %d did not get ready (last line %q)", i, line)
				}
			}
			for _, k := range kids {
				_, err := io.WriteString(k.stdin, "go\n")
				must(t, err)
			}
			got := make([][]uint64, children)
			other := make([][]string, children) // the test framework's lines, shown on failure
			var wg sync.WaitGroup
			for i, k := range kids {
				wg.Go(func() {
					for k.out.Scan() {
						p, ok := strings.CutPrefix(k.out.Text(), "position ")
						n, err := strconv.ParseUint(p, 10, 64)
						if !ok || err != nil {
							other[i] = append(other[i], k.out.Text())
							continue
						}
						got[i] = append(got[i], n)
					}
				})
			}
			wg.Wait()
			for i, k := range kids {
				if err := k.cmd.Wait(); err != nil {
					t.Errorf("process %d: %v; its output:\n%s", i, err, strings.Join(other[i], "\n"))
				}
				if len(got[i]) != each {
					t.Errorf("process %d took %d turns, want %d", i, len(got[i]), each)
				}
			}
			checkPositions(t, got, children*each)
			t.Logf("turns taken while the other process was between two of its own: %d of %d", interleaved(got), children*each)
			same(t, "next position", get(s.PeekRotation(ctx, r.ID, router.PoolAgents, "k"))(t), uint64(children*each))
		})
	}
}

// interleaved counts the positions of a process that come right after a
// position of another process: how much the processes ran at once.
func interleaved(got [][]uint64) int {
	owner := map[uint64]int{}
	for i, ps := range got {
		for _, p := range ps {
			owner[p] = i
		}
	}
	n := 0
	for p := uint64(1); p < uint64(len(owner)); p++ {
		if owner[p] != owner[p-1] {
			n++
		}
	}
	return n
}

// readUntil returns the first line that is want, or the last line read
// when the output ends first.
func readUntil(sc *bufio.Scanner, want string) string {
	last := ""
	for sc.Scan() {
		if last = sc.Text(); last == want {
			break
		}
	}
	return last
}

// TestRotationGatewayProcess is one gateway process of
// TestRotationTwoProcesses; run on its own it does nothing. It opens the
// database, says "ready", waits for a line on stdin, then takes its turns
// and prints each position.
func TestRotationGatewayProcess(t *testing.T) {
	driver, dsn := os.Getenv(envChildDriver), os.Getenv(envChildDSN)
	if dsn == "" {
		t.Skip("a helper process of TestRotationTwoProcesses")
	}
	ruleID, err := strconv.ParseInt(os.Getenv(envChildRule), 10, 64)
	must(t, err)
	n, err := strconv.Atoi(os.Getenv(envChildN))
	must(t, err)
	s, err := store.Open(ctx, driver, dsn)
	must(t, err)
	defer s.Close()
	must(t, s.Ping(ctx))
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for range n {
		p, err := advance(s, ruleID, router.PoolAgents, "k")
		must(t, err)
		fmt.Fprintf(out, "position %d\n", p)
	}
}
