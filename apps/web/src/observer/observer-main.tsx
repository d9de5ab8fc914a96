import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ObserverApp } from './observer-app.js';
import '../styles.css';
import './observer.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ObserverApp />
  </StrictMode>,
);
