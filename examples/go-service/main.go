// The leaky example service in Go: the same request pipeline as examples/node-service, served
// over HTTP with net/http/pprof on the same port, so `leakscope watch http://ADDR` can name its
// leaks. Five planted leaks (a global map, a cache without TTL, subscribers never removed, tickers
// never stopped, waiters never released) and two things that are not leaks (a bounded LRU cache
// and per-request churn).
//
//	go run . -addr 127.0.0.1:8080
//
// When ready it prints one JSON line: {"ready":true,"url":"http://ADDR/","pprof":"http://ADDR/debug/pprof"}
// expvar's /debug/vars serves the memstats. LEAKS=off runs only the steps that are not leaks;
// DELAY_MS=N delays every /api answer by N ms (a slower build, for the regression gate).
package main

import (
	"container/list"
	"encoding/json"
	_ "expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type requestContext struct {
	id      int64
	user    string
	product string
	body    map[string]any
}

// Leak 1: a global map of sessions, added to on every request and never cleaned.
type session struct {
	id      string
	user    string
	created time.Time
	data    []byte
}

var (
	sessionsMu sync.Mutex
	sessions   = map[string]*session{}
)

func createSession(ctx *requestContext) {
	s := &session{id: fmt.Sprintf("sess-%d", ctx.id), user: ctx.user, created: time.Now(), data: make([]byte, 1024)}
	sessionsMu.Lock()
	sessions[s.id] = s
	sessionsMu.Unlock()
	ctx.body["session"] = s.id
}

// Leak 2: a product cache without TTL or size bound.
type productCache struct {
	mu   sync.RWMutex
	data map[string][]byte
}

var products = &productCache{data: map[string][]byte{}}

func (c *productCache) Get(key string) []byte {
	c.mu.RLock()
	v, ok := c.data[key]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = renderProduct(key)
	c.mu.Lock()
	c.data[key] = v
	c.mu.Unlock()
	return v
}

func renderProduct(key string) []byte {
	return []byte(fmt.Sprintf("<div class=%q>%s</div>", "product", strings.Repeat(key, 96)))
}

func cacheProduct(ctx *requestContext) {
	ctx.body["productBytes"] = len(products.Get(ctx.product))
}

// Leak 3: a subscriber added per request to a long-lived bus and never removed.
type bus struct {
	mu   sync.Mutex
	subs []func(float64)
}

var updates = &bus{}

func (b *bus) Subscribe(f func(float64)) {
	b.mu.Lock()
	b.subs = append(b.subs, f)
	b.mu.Unlock()
}

func (b *bus) Publish(p float64) {
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, f := range subs {
		f(p)
	}
}

func subscribeUpdates(ctx *requestContext) {
	seen := make([]float64, 0, 64)
	updates.Subscribe(func(p float64) { seen = append(seen, p) })
	ctx.body["subscribed"] = true
}

// Leak 4: a ticker and its goroutine started for some requests and never stopped.
func startPolling(ctx *requestContext) {
	if ctx.id%4 != 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	polls := 0
	go func() {
		for range t.C {
			polls++
		}
	}()
	ctx.body["polling"] = true
}

// Leak 5: waiters for a reload that never happens: each one a goroutine blocked forever.
var reloaded = make(chan struct{})

func waitForReload(ctx *requestContext) {
	if ctx.id%2 != 0 {
		return
	}
	note := make([]byte, 256)
	go func() {
		<-reloaded
		_ = note
	}()
	ctx.body["waiting"] = true
}

// Not a leak: a bounded LRU cache, full after a few hundred requests.
const lruCapacity = 400

type lruEntry struct {
	key   string
	value []byte
}

var (
	lruMu    sync.Mutex
	lruList  = list.New()
	lruIndex = map[string]*list.Element{}
)

func lruLookup(ctx *requestContext) {
	key := "k" + ctx.product
	lruMu.Lock()
	defer lruMu.Unlock()
	if e, ok := lruIndex[key]; ok {
		lruList.MoveToFront(e)
		ctx.body["lru"] = lruList.Len()
		return
	}
	e := lruList.PushFront(&lruEntry{key: key, value: make([]byte, 2048)})
	lruIndex[key] = e
	if lruList.Len() > lruCapacity {
		old := lruList.Back()
		lruList.Remove(old)
		delete(lruIndex, old.Value.(*lruEntry).key)
	}
	ctx.body["lru"] = lruList.Len()
}

// Not a leak: per-request garbage that dies when the request ends.
func handleChurn(ctx *requestContext) {
	rows := make([]map[string]any, 0, 64)
	for i := 0; i < 64; i++ {
		rows = append(rows, map[string]any{"i": i, "name": fmt.Sprintf("row-%d-%d", ctx.id, i)})
	}
	b, _ := json.Marshal(rows)
	ctx.body["checksum"] = len(b)
}

var pipeline = []func(*requestContext){createSession, cacheProduct, subscribeUpdates, startPolling, waitForReload, lruLookup, handleChurn}

var seq int64

var delay time.Duration

func handleAPI(w http.ResponseWriter, r *http.Request) {
	id := atomic.AddInt64(&seq, 1)
	q := r.URL.Query()
	ctx := &requestContext{id: id, user: q.Get("user"), product: q.Get("product"), body: map[string]any{}}
	if ctx.user == "" {
		ctx.user = fmt.Sprintf("user%d", id%1000)
	}
	if ctx.product == "" {
		ctx.product = fmt.Sprint(id)
	}
	for _, step := range pipeline {
		step(ctx)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ctx.body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free one)")
	rate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (0 keeps Go's default, 512 KiB)")
	flag.Parse()
	if *rate > 0 {
		runtime.MemProfileRate = *rate
	}
	if os.Getenv("LEAKS") == "off" {
		pipeline = []func(*requestContext){lruLookup, handleChurn}
	}
	if ms, err := strconv.Atoi(os.Getenv("DELAY_MS")); err == nil && ms > 0 {
		delay = time.Duration(ms) * time.Millisecond
	}
	http.HandleFunc("/api", handleAPI)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for range time.Tick(5 * time.Second) {
			updates.Publish(1)
		}
	}()
	base := "http://" + ln.Addr().String()
	ready, _ := json.Marshal(map[string]any{"ready": true, "url": base + "/", "pprof": base + "/debug/pprof"})
	fmt.Fprintln(os.Stdout, string(ready))
	log.Fatal(http.Serve(ln, nil))
}
