/** Process entry of the gateway (`npm start`): production mode before anything loads, then the gateway. */
import './config/production-mode.js';
import { serveGateway } from './serve-gateway.js';

serveGateway();
