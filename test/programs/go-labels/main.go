// Writes real runtime/pprof profiles whose samples carry labels, for leakscope's tags tests:
// goroutine.pb.gz (goroutines blocked under pprof.Do with route / trace_id / tenant labels),
// cpu.pb.gz (work done under the same labels) and heap.pb.gz (allocations of several sizes, so
// the samples carry Go's numeric `bytes` label). Usage: go-labels OUTDIR
//
// go-labels serve: a service with net/http/pprof on 127.0.0.1 (a free port, printed on stdout)
// whose /api/leak route leaks a blocked goroutine every 50 ms while /api/ok keeps 20 blocked in
// the same function: only a split by the route label tells them apart.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var (
	block = make(chan struct{})
	keep  [][]byte
	sink  uint64
)

type route struct {
	path    string
	waiters int
	work    time.Duration
	tenant  string
}

var routes = []route{
	{"/api/users", 5, 120 * time.Millisecond, "acme"},
	{"/api/orders", 3, 60 * time.Millisecond, ""},
	{"/healthz", 1, 20 * time.Millisecond, "acme"},
}

//go:noinline
func waitForRequest() { <-block }

//go:noinline
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := sink
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink = x
}

func handle(ctx context.Context, r route, trace int, f func()) {
	labels := pprof.Labels("route", r.path, "trace_id", fmt.Sprintf("%016x", 0x9e3779b97f4a7c15*uint64(trace+1)))
	pprof.Do(ctx, labels, func(ctx context.Context) {
		if r.tenant == "" {
			f()
			return
		}
		pprof.Do(ctx, pprof.Labels("tenant", r.tenant), func(context.Context) { f() })
	})
}

func write(dir, name string, p *pprof.Profile) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := p.WriteTo(f, 0); err != nil {
		panic(err)
	}
}

func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		go handle(ctx, route{path: "/api/ok"}, i, waitForRequest)
	}
	go func() {
		for i := 0; ; i++ {
			go handle(ctx, route{path: "/api/leak"}, 1000+i, waitForRequest)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	fmt.Printf("http://%s\n", ln.Addr())
	panic(http.Serve(ln, nil))
}

func main() {
	if os.Args[1] == "serve" {
		serve()
	}
	runtime.MemProfileRate = 1
	dir := os.Args[1]
	ctx := context.Background()

	trace := 0
	var started sync.WaitGroup
	for _, r := range routes {
		for i := 0; i < r.waiters; i++ {
			started.Add(1)
			go handle(ctx, r, trace, func() { started.Done(); waitForRequest() })
			trace++
		}
	}
	started.Wait()

	f, err := os.Create(filepath.Join(dir, "cpu.pb.gz"))
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	for _, r := range routes {
		wg.Add(1)
		go func(r route) { defer wg.Done(); handle(ctx, r, 100, func() { spin(r.work) }) }(r)
	}
	wg.Wait()
	pprof.StopCPUProfile()
	f.Close()

	for i, size := range []int{64, 1000, 1024, 4096, 70000, 1 << 20} {
		for j := 0; j <= i; j++ {
			keep = append(keep, make([]byte, size))
		}
	}
	runtime.GC()
	write(dir, "heap.pb.gz", pprof.Lookup("heap"))
	write(dir, "goroutine.pb.gz", pprof.Lookup("goroutine"))
	runtime.KeepAlive(keep)
}
