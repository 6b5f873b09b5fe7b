// Debian's headless Chromium with a fresh profile and every background service off (the
// machine has no network but loopback), as both browser tests launch it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** @returns {Promise<{context: import('playwright-core').BrowserContext, close: () => Promise<void>}>} */
export async function launchChromium(executablePath) {
    const userDataDir = mkdtempSync(join(tmpdir(), 'folio-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        headless: true, // adds --headless
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
        ],
        viewport: { width: 1280, height: 900 },
    });
    const close = async () => {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
    };
    return { context, close };
}
