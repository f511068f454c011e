package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/storetest"
)

// The load ceilings: while eight clients send the worst operations the
// price model accepts, a ninth client's `me` is answered within 250 ms at
// the 99th percentile, and the gateway process stays within 512 MB.
const (
	ceilingMeP99 = 250 * time.Millisecond
	ceilingRSS   = 512 << 20
)

// loadClients send the worst accepted operations at once.
const loadClients = 8

// TestWorstAcceptedOperationsUnderLoad measures every generated operation
// on a store of fullUsers users (GATEHOUSE_WORST_USERS sets another size),
// then runs a gateway process on that store and has eight clients send the
// eight worst accepted, by CPU, round and round for GATEHOUSE_LOAD_SECONDS
// (60 by default), while a ninth asks for `me` twenty times a second. It
// takes minutes, so it runs only when GATEHOUSE_LOAD_TEST is set:
//
//	GATEHOUSE_LOAD_TEST=1 GATEHOUSE_TEST_ENGINES=sqlite go test -run WorstAcceptedOperationsUnderLoad -v -timeout 60m ./cmd/gatehouse/
//
// The gateway is a process of its own, so that its resident memory is its
// own: the test binary run as gatehouse, read from /proc.
func TestWorstAcceptedOperationsUnderLoad(t *testing.T) {
	if os.Getenv("GATEHOUSE_LOAD_TEST") == "" {
		t.Skip("takes minutes: set GATEHOUSE_LOAD_TEST=1 to run it")
	}
	skipUnlessMeasurable(t)
	users := fullUsers
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_WORST_USERS")); err == nil && n > 100 {
		users = n
	}
	seconds := 60
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_LOAD_SECONDS")); err == nil && n > 0 {
		seconds = n
	}

	run := newOpRun(t, users)
	start := time.Now()
	figs := run.sweep(t, run.generate(t), false)
	t.Logf("%d operations measured on %d users in %v", len(figs), users, time.Since(start).Round(time.Second))
	var worst []genOp
	for _, f := range worstAccepted(figs) {
		if !f.Op.FreshToken && len(worst) < loadClients {
			worst = append(worst, f.Op)
			t.Logf("load: %s (%s)", f.Op.Name, f)
		}
	}

	gw := startGatewayProcess(t, run.seeded.name)
	pid := gw.cmd.Process.Pid
	ctx, stop := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadClients + 1}}

	var (
		wg        sync.WaitGroup
		sent      atomic.Int64
		failed    atomic.Int64
		unique    atomic.Int64
		peakRSS   atomic.Int64
		latencies []time.Duration
	)
	for i := range loadClients {
		wg.Go(func() {
			for n := i; ctx.Err() == nil; n++ {
				op := worst[n%len(worst)]
				if op.Unique {
					op.Query = strings.ReplaceAll(op.Query, uniqueRun, strconv.FormatInt(500_000+unique.Add(1), 10))
				}
				status, body, err := postTo(ctx, client, gw.base, run.tokens[op.Caller], op)
				if ctx.Err() != nil {
					return
				}
				sent.Add(1)
				if err != nil || status != http.StatusOK || bytes.Contains(body, []byte(`"errors":`)) {
					failed.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		me := genOp{Query: `{ me { id username } }`}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			begin := time.Now()
			status, body, err := postTo(ctx, client, gw.base, run.tokens[callerPlain], me)
			if ctx.Err() != nil {
				return
			}
			if err != nil || status != http.StatusOK || !bytes.Contains(body, []byte(`"username":"plain"`)) {
				t.Errorf("me under load: %d %v %.200s", status, err, body)
				continue
			}
			latencies = append(latencies, time.Since(begin))
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			if rss := procStatusBytes(pid, "VmRSS"); rss > peakRSS.Load() {
				peakRSS.Store(rss)
			}
			time.Sleep(100 * time.Millisecond) // sampling the process's memory
		}
	})
	wg.Wait()
	hwm := max(peakRSS.Load(), procStatusBytes(pid, "VmHWM"))

	if len(latencies) == 0 {
		t.Fatal("me was never answered")
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	t.Logf("%ds on %d users: the eight clients had %d operations answered (%d of them with errors); me answered %d times: p50 %v, p90 %v, p99 %v, max %v; peak RSS %.0f MB",
		seconds, users, sent.Load(), failed.Load(), len(latencies), pct(0.5).Round(time.Millisecond), pct(0.9).Round(time.Millisecond),
		pct(0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond), mb(uint64(hwm)))
	if p99 := pct(0.99); p99 >= ceilingMeP99 {
		t.Errorf("me's p99 under load is %v, ceiling %v", p99.Round(time.Millisecond), ceilingMeP99)
	}
	if hwm >= ceilingRSS {
		t.Errorf("the gateway's peak RSS under load is %.0f MB, ceiling %d MB", mb(uint64(hwm)), ceilingRSS>>20)
	}
}

// gatewayProcess is a gatehouse serve process of the test's.
type gatewayProcess struct {
	*process
	base string
}

// startGatewayProcess runs serve on the named database of this run's
// engine, configured as the measured gateway, and waits until it is
// ready.
func startGatewayProcess(t *testing.T, database string) *gatewayProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := storetest.Config(database)
	args := []string{"serve", "--addr", addr, "--database", database, "--dispatch=false", "--log-level=warn"}
	if cfg.MongoURI != "" {
		args = append(args, "--mongodb-uri", cfg.MongoURI)
	} else {
		args = append(args, "--data", cfg.DataDir)
	}
	p := &gatewayProcess{process: startProcess(t, append(args, gatewayArgs...)...), base: "http://" + addr}
	if err := waitReady(p.base, time.Minute); err != nil {
		t.Fatalf("the gateway process: %v\n%s", err, p.log())
	}
	return p
}

// postTo posts an operation to a gateway at base and reads its answer.
func postTo(ctx context.Context, client *http.Client, base, token string, op genOp) (int, []byte, error) {
	body, err := op.body()
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// procStatusBytes reads a size field (VmRSS, VmHWM) of a process's
// /proc/<pid>/status, in bytes; 0 when it cannot.
func procStatusBytes(pid int, field string) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
