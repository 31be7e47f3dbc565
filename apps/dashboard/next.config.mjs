/**
 * Next.js builds only the browser views; the custom server in src/app.ts serves them next to /api and socket.io.
 * Type-checking and linting happen in the workspace's own `tsc -b` and `eslint`, so `next build` skips both.
 * Development mode writes to its own directory (.next/dev) so it never clobbers the production build `npm start` serves.
 */
export default function nextConfig(phase) {
  /** @type {import('next').NextConfig} */
  const config = {
    reactStrictMode: true,
    poweredByHeader: false,
    distDir: phase === 'phase-development-server' ? '.next/dev' : '.next',
    typescript: { ignoreBuildErrors: true, tsconfigPath: 'tsconfig.next.json' },
    eslint: { ignoreDuringBuilds: true },
    // The two-core target machine: keep the build from forking a worker per core for static pages.
    experimental: { cpus: 1 },
    // File tracing only feeds `output: 'standalone'` deployments; skipping it saves ~9 s of CPU per build.
    outputFileTracing: false,
  };
  return config;
}
