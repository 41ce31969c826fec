'use strict';
// A small web app: serves public/index.html at / and a JSON status at /health.
const http = require('http');
const fs = require('fs');
const path = require('path');
const ms = require('ms');
const { greeting } = require('./lib/greeting');

const port = Number(process.env.PORT || 3000);
const started = Date.now();
const page = fs.readFileSync(path.join(__dirname, 'public', 'index.html'), 'utf8');

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', uptime: ms(Date.now() - started),
                             env: process.env.NODE_ENV || 'development' }) + '\n');
    return;
  }
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page.replace('{{greeting}}', greeting()));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(port, () => console.log(`listening on :${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
