// cri-stream-client: a test client of a CRI streaming server (the URL that Exec, Attach or
// PortForward answer with) that speaks as Kubernetes' client-go does, with the libraries it
// uses: SPDY/3.1 through moby/spdystream (remotecommand's and portforward's SPDY executors:
// an upgrade with X-Stream-Protocol-Version, one stream per channel named by its streamType
// header, the v4 error stream as a metav1.Status), and WebSocket through gorilla/websocket
// (the channel protocols: a channel byte before each message, v5's close message).
//
// Built offline against Debian's Go libraries (GOPATH=/usr/share/gocode GO111MODULE=off).
//
//	cri-stream-client [-ws] [-stdin] [-tty] [-stderr] [-resize WxH] [-protocols p1,p2] URL
//	cri-stream-client -portforward PORT [-ws] URL
//
// A command's output goes to stdout and stderr; this process exits with the remote exit code
// (v4/v5 status), 125 with the message on stderr for another failure. A port-forward sends
// stdin to the port (then half-closes it over SPDY; -connections N: N connections in turn on one
// session, each sending it), copies back what comes, and exits 3 with
// the error stream's message on stderr when there is one. Exit 4: the upgrade was refused
// (the status line and body on stderr).
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/spdystream"
)

type status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Details *struct {
		Causes []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

var (
	useWS       = flag.Bool("ws", false, "WebSocket instead of SPDY")
	withStdin   = flag.Bool("stdin", false, "send this process's stdin")
	withTTY     = flag.Bool("tty", false, "a terminal session (resize stream, no stderr)")
	withStderr  = flag.Bool("stderr", false, "open the stderr stream")
	noStdout    = flag.Bool("no-stdout", false, "do not open the stdout stream")
	resize      = flag.String("resize", "", "send this terminal size (WxH) once the streams are up")
	protocols   = flag.String("protocols", "", "protocols to offer, comma-separated (default: as client-go)")
	portForward = flag.Int("portforward", 0, "forward stdin to this port of the pod")
	keepStdin   = flag.Bool("keep-stdin", false, "WebSocket v5: do not half-close stdin at its end")
	connections = flag.Int("connections", 1, "SPDY port-forward: this many connections, one after the other, on one session")
)

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func offered(def ...string) []string {
	if *protocols == "" {
		return def
	}
	return strings.Split(*protocols, ",")
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialSPDY upgrades as apimachinery's SPDY round tripper does.
func dialSPDY(u *url.URL, protos []string) (*spdystream.Connection, string) {
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		fail(125, "dial: %v", err)
	}
	req, _ := http.NewRequest("POST", u.String(), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	for _, p := range protos {
		req.Header.Add("X-Stream-Protocol-Version", p)
	}
	if err := req.Write(conn); err != nil {
		fail(125, "request: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		fail(125, "response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fail(4, "%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	sc, err := spdystream.NewConnection(&bufConn{conn, br}, false)
	if err != nil {
		fail(125, "spdy: %v", err)
	}
	go sc.Serve(spdystream.NoOpStreamHandler)
	return sc, resp.Header.Get("X-Stream-Protocol-Version")
}

func createStream(sc *spdystream.Connection, h http.Header) *spdystream.Stream {
	s, err := sc.CreateStream(h, nil, false)
	if err != nil {
		fail(125, "create stream %v: %v", h, err)
	}
	if err := s.WaitTimeout(30 * time.Second); err != nil {
		fail(125, "stream %v: %v", h, err)
	}
	return s
}

func parseSize() (int, int, bool) {
	if *resize == "" {
		return 0, 0, false
	}
	parts := strings.SplitN(*resize, "x", 2)
	w, _ := strconv.Atoi(parts[0])
	h, _ := strconv.Atoi(parts[1])
	return w, h, true
}

// exitWith decodes the error stream as client-go's v4 decoder (v1-v3: a message is a failure).
func exitWith(errData []byte, version string) {
	if len(errData) == 0 {
		os.Exit(0)
	}
	if version == "v4.channel.k8s.io" || version == "v5.channel.k8s.io" {
		var st status
		if err := json.Unmarshal(errData, &st); err != nil {
			fail(125, "error stream: %v: %q", err, errData)
		}
		if st.Status == "Success" {
			os.Exit(0)
		}
		if st.Reason == "NonZeroExitCode" && st.Details != nil {
			for _, c := range st.Details.Causes {
				if c.Reason == "ExitCode" {
					rc, _ := strconv.Atoi(c.Message)
					os.Exit(rc)
				}
			}
		}
		fail(125, "%s", st.Message)
	}
	fail(125, "%s", errData)
}

func spdyCommand(u *url.URL) {
	sc, version := dialSPDY(u, offered("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"))
	h := http.Header{}
	h.Set("streamType", "error")
	errStream := createStream(sc, h)
	var stdin, stdout, stderr, resizeStream *spdystream.Stream
	if *withStdin {
		h.Set("streamType", "stdin")
		stdin = createStream(sc, h)
	}
	if !*noStdout {
		h.Set("streamType", "stdout")
		stdout = createStream(sc, h)
	}
	if *withStderr && !*withTTY {
		h.Set("streamType", "stderr")
		stderr = createStream(sc, h)
	}
	if *withTTY && version != "v2.channel.k8s.io" && version != "channel.k8s.io" {
		h.Set("streamType", "resize")
		resizeStream = createStream(sc, h)
	}
	errCh := make(chan []byte, 1)
	go func() {
		data, _ := io.ReadAll(errStream)
		errCh <- data
	}()
	if w, hh, ok := parseSize(); ok && resizeStream != nil {
		json.NewEncoder(resizeStream).Encode(map[string]int{"Width": w, "Height": hh})
	}
	if stdin != nil {
		go func() {
			io.Copy(stdin, os.Stdin)
			stdin.Close()
		}()
	}
	var wg sync.WaitGroup
	for _, p := range []struct {
		s   *spdystream.Stream
		out io.Writer
	}{{stdout, os.Stdout}, {stderr, os.Stderr}} {
		if p.s == nil {
			continue
		}
		wg.Add(1)
		go func(s *spdystream.Stream, out io.Writer) {
			defer wg.Done()
			io.Copy(out, s)
		}(p.s, p.out)
	}
	wg.Wait()
	data := <-errCh
	sc.Close()
	exitWith(data, version)
}

func dialWS(u *url.URL, protos []string) (*websocket.Conn, string) {
	wsu := *u
	wsu.Scheme = "ws"
	d := websocket.Dialer{Subprotocols: protos, HandshakeTimeout: 30 * time.Second}
	c, resp, err := d.Dial(wsu.String(), nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			fail(4, "%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		fail(125, "websocket: %v", err)
	}
	return c, c.Subprotocol()
}

func wsCommand(u *url.URL) {
	c, version := dialWS(u, offered("v5.channel.k8s.io"))
	var mu sync.Mutex
	send := func(ch byte, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		c.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, data...))
	}
	if w, h, ok := parseSize(); ok && *withTTY {
		b, _ := json.Marshal(map[string]int{"Width": w, "Height": h})
		send(4, b)
	}
	if *withStdin {
		go func() {
			buf := make([]byte, 32*1024)
			for {
				n, err := os.Stdin.Read(buf)
				if n > 0 {
					send(0, buf[:n])
				}
				if err != nil {
					break
				}
			}
			if version == "v5.channel.k8s.io" && !*keepStdin {
				send(255, []byte{0})
			}
		}()
	}
	var errData []byte
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			break
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case 1:
			os.Stdout.Write(msg[1:])
		case 2:
			os.Stderr.Write(msg[1:])
		case 3:
			errData = append(errData, msg[1:]...)
		}
	}
	exitWith(errData, version)
}

func spdyPortForward(u *url.URL, port int) {
	sc, _ := dialSPDY(u, offered("portforward.k8s.io"))
	in, _ := io.ReadAll(os.Stdin)
	// As kubectl port-forward: one session, a (data, error) pair per connection, request ids 0, 1, ...
	for i := 0; i < *connections; i++ {
		h := http.Header{}
		h.Set("streamType", "error")
		h.Set("port", strconv.Itoa(port))
		h.Set("requestID", strconv.Itoa(i))
		errStream := createStream(sc, h)
		// As client-go: pier never reads what the client would write on the error stream.
		errStream.Close()
		h.Set("streamType", "data")
		data := createStream(sc, h)
		errCh := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(errStream)
			errCh <- b
		}()
		go func() {
			data.Write(in)
			data.Close()
		}()
		io.Copy(os.Stdout, data)
		if msg := <-errCh; len(msg) > 0 {
			fail(3, "%s", msg)
		}
	}
	sc.Close()
}

func wsPortForward(u *url.URL, port int) {
	c, _ := dialWS(u, offered("v4.channel.k8s.io"))
	in, _ := io.ReadAll(os.Stdin)
	seen := map[byte]bool{}
	var errData []byte
	sent := false
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			break
		}
		if len(msg) == 0 {
			continue
		}
		ch := msg[0]
		body := msg[1:]
		if !seen[ch] {
			// The first message of each channel is its port, little-endian.
			seen[ch] = true
			if len(body) < 2 || int(binary.LittleEndian.Uint16(body)) != port {
				fail(125, "channel %d opened with %v, not port %d", ch, body, port)
			}
			body = body[2:]
			if seen[0] && seen[1] && !sent {
				sent = true
				c.WriteMessage(websocket.BinaryMessage, append([]byte{0}, in...))
			}
		}
		if ch == 0 {
			os.Stdout.Write(body)
		} else {
			errData = append(errData, body...)
		}
	}
	if len(errData) > 0 {
		fail(3, "%s", errData)
	}
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 {
		fail(125, "usage: cri-stream-client [flags] URL")
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil {
		fail(125, "url: %v", err)
	}
	switch {
	case *portForward > 0 && *useWS:
		wsPortForward(u, *portForward)
	case *portForward > 0:
		spdyPortForward(u, *portForward)
	case *useWS:
		wsCommand(u)
	default:
		spdyCommand(u)
	}
}
