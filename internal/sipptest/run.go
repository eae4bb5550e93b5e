package sipptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/testlog"
)

// Proc is a program a test runs (SIPp, a softphone): its output is kept in
// Out, and it is killed when the test ends if it still runs then.
type Proc struct {
	Cmd  *exec.Cmd
	Out  testlog.Buffer
	Err  error // how it exited, once Done is closed
	done chan struct{}
}

// StartProc starts cmd; name is the program in failures.
func StartProc(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.Out, &p.Out
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.Err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

// Done is closed once the program has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill ends the program unless it has ended, and waits for it.
func (p *Proc) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

// Run is one SIPp process playing one call (-m 1), its errors and messages
// traced into a temporary directory.
type Run struct {
	*Proc
	Name string
	dir  string
}

// Start runs SIPp with args for one call that may take at most timeout. A
// machine without SIPp fails the test saying which package to install.
func Start(t testing.TB, name string, timeout time.Duration, args ...string) *Run {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp not found: install sip-tester (apt-get install sip-tester)")
	}
	dir := t.TempDir()
	all := append([]string{
		"-m", "1", "-timeout", strconv.Itoa(int(timeout/time.Second)) + "s", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
	}, args...)
	return &Run{Proc: StartProc(t, "sipp "+name, exec.Command(bin, all...)), Name: name, dir: dir}
}

// Messages is SIPp's message trace so far, with LF line ends.
func (r *Run) Messages() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "messages.log"))
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// Report is what SIPp printed and traced, for a failure message.
func (r *Run) Report() string {
	errs, _ := os.ReadFile(filepath.Join(r.dir, "errors.log"))
	return "--- sipp output:\n" + r.Out.String() + "\n--- sipp errors:\n" + string(errs) + "\n--- sipp messages:\n" + r.Messages()
}
