package udp

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/testenv"
)

// Fork safety: 200 requests to the fork model while other goroutines
// allocate as fast as they can and force collections, so that forks land
// in the middle of allocation and garbage collection. Every reply is
// right, every child is reaped, no zombie is left, and the whole run is
// bounded (a deadlock in a child or in the parent fails, not hangs).
func TestForkSafety(t *testing.T) {
	s := rawLengthy(ServeFork)(t, LengthyConfig{Delay: 50 * time.Millisecond, MaxChildren: 256, Quiet: true})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var keep [][]byte
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 1+(i*7919+g)%(64<<10)))
				if len(keep) > 256 {
					keep = keep[:0]
				}
				if i%500 == 0 {
					runtime.GC()
				}
			}
		})
	}
	results := make(chan StressResult, 1)
	go func() {
		results <- Stress(loopback, s.port, "fork safety", StressConfig{Clients: 200, Timeout: 20 * time.Second})
	}()
	var res StressResult
	select {
	case res = <-results:
	case <-time.After(60 * time.Second):
		close(stop)
		t.Fatalf("200 requests not answered within 60s: deadlock?\nserver log:\n%s\nchildren: %v", s.log, testenv.Children())
	}
	close(stop)
	wg.Wait()
	if err := res.Err(); err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, s.log)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if kids := testenv.Children(); len(kids) > 0 {
		t.Fatalf("children left after the server returned: %v", kids)
	}
	if got := s.log.String(); got != "" {
		t.Errorf("server log:\n%s", got)
	}
	t.Logf("200 forked requests of 50ms answered in %v", res.Elapsed)
}

// EINTR: a storm of SIGCHLD at the fork server's process while it serves
// (every wrapper retries EINTR, the reaper finds nothing to reap most
// times). No spurious error, no lost reply, no child left.
func TestForkSIGCHLDStorm(t *testing.T) {
	s := rawLengthy(ServeFork)(t, LengthyConfig{Delay: testDelay, Quiet: true})
	stop := make(chan struct{})
	sent := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Kill(os.Getpid(), syscall.SIGCHLD)
			sent++
			time.Sleep(50 * time.Microsecond)
		}
	})
	res := Stress(loopback, s.port, "storm", StressConfig{Clients: 20, Timeout: 10 * time.Second})
	close(stop)
	wg.Wait()
	if err := res.Err(); err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, s.log)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if got := s.log.String(); strings.TrimSpace(got) != "" {
		t.Errorf("server reported under the storm:\n%s", got)
	}
	if kids := testenv.Children(); len(kids) > 0 {
		t.Fatalf("children left: %v", kids)
	}
	t.Logf("%d SIGCHLD sent during 20 requests of %v (%v)", sent, testDelay, res.Elapsed)
}
