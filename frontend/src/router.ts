import { createRouter, createWebHistory, type Router } from 'vue-router'
import ServersPage from '@/pages/ServersPage.vue'

// History mode: the URL fragment carries the token (#token=…) and is cleared before the router
// starts; the Go server answers index.html for paths outside /api/ and /socket.io/.
export function createAppRouter(): Router {
  return createRouter({
    history: createWebHistory('/'),
    routes: [
      { path: '/', name: 'servers', component: ServersPage },
      { path: '/servers/new', name: 'server-new', component: () => import('@/pages/ServerNewPage.vue') },
      { path: '/servers/:id', name: 'server', component: () => import('@/pages/ServerDetailPage.vue') },
      { path: '/system', name: 'system', component: () => import('@/pages/SystemPage.vue') },
      { path: '/settings', name: 'settings', component: () => import('@/pages/SettingsPage.vue') },
      { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('@/pages/NotFoundPage.vue') },
    ],
  })
}
