"""HTTP and WebSocket endpoints: parse, call one service action, render. Nothing more."""
