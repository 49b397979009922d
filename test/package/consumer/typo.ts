// A misspelt server event: the compiler must name the events that exist.
import { bayeux } from 'express-bayeux';

bayeux().on('publsh', () => {});
