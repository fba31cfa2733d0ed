export const TOKEN_STORAGE_KEY = 'mcpwatch.token'

/**
 * Takes the token from the URL fragment (#token=…), keeps it in sessionStorage and removes the
 * fragment from the address bar, so it is neither bookmarked nor shown. Without a fragment the
 * token stored earlier in this tab is used.
 */
export function extractToken(
  loc: Pick<Location, 'hash' | 'pathname' | 'search'>,
  storage: Pick<Storage, 'getItem' | 'setItem'> | null,
  hist: Pick<History, 'replaceState' | 'state'> | null,
): string {
  const hash = loc.hash.startsWith('#') ? loc.hash.slice(1) : loc.hash
  const params = new URLSearchParams(hash)
  const fromHash = params.get('token')
  if (fromHash) {
    try {
      storage?.setItem(TOKEN_STORAGE_KEY, fromHash)
    } catch {
      /* storage may be disabled; the token still lives for this page */
    }
    params.delete('token')
    const rest = params.toString()
    hist?.replaceState(hist.state, '', loc.pathname + loc.search + (rest ? '#' + rest : ''))
    return fromHash
  }
  try {
    return storage?.getItem(TOKEN_STORAGE_KEY) ?? ''
  } catch {
    return ''
  }
}

export function storeToken(storage: Pick<Storage, 'setItem'> | null, token: string): void {
  try {
    storage?.setItem(TOKEN_STORAGE_KEY, token)
  } catch {
    /* ignore */
  }
}
